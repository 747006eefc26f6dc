"""Vaulted inventories and secrets files through the real commands: values and files that the real
ansible-vault encrypted are decrypted with the vault flags, and no decrypted value appears in any
output, in any encoding."""

from __future__ import annotations

import json

import pytest
from conftest import invoke, tree_digest
from vault_helpers import ansible_vault, assert_never_shown, password_file, sha

from remediation.inventory import Vaulted, load_inventory
from remediation.vault import HMAC_FAILED, VaultSecrets

PASSWORD = "inventory vault password"
TOKEN = "tok-PLANTED-Az9/+q=%'\"x"  # a value that changes under every encoding
DB_PASSWORD = "PLANTED-db-pw-8231"
SMTP = "PLANTED-smtp-5150"
APP = "PLANTEDapp7788"


def encrypted_string(pw, value: str, name: str, vault_id: str | None = None) -> str:
    source = ["--vault-id", f"{vault_id}@{pw}"] if vault_id else ["--vault-password-file", str(pw)]
    done = ansible_vault("encrypt_string", *source, "--stdin-name", name, stdin=value)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def pw(tmp_path):
    return password_file(tmp_path, PASSWORD)


@pytest.fixture
def ini_inventory(tmp_path, pw, demo):
    """An INI inventory; group_vars/all.yml with !vault values, group_vars/web.yml vaulted whole."""
    folder = tmp_path / "ansible"
    (folder / "group_vars").mkdir(parents=True)
    inventory = folder / "hosts.ini"
    inventory.write_text(f"[web]\nlocalhost ansible_connection=local project={demo}\n")
    (folder / "group_vars" / "all.yml").write_text(
        "plain_setting: visible-value\n"
        + encrypted_string(pw, TOKEN, "api_token")
        + encrypted_string(pw, f"postgres://thebot:{DB_PASSWORD}@db.internal/thebot", "backup_url", "prod")
    )
    web = folder / "group_vars" / "web.yml"
    web.write_text(f"smtp_relay_secret: {SMTP}\napp: {APP}\n")
    assert ansible_vault("encrypt", "--vault-password-file", str(pw), str(web)).returncode == 0
    return inventory


@pytest.fixture
def yaml_inventory(tmp_path, pw, demo):
    """An Ansible YAML inventory with inline !vault values, one of them the host's app name."""
    inventory = tmp_path / "hosts.yml"
    app = encrypted_string(pw, APP, "app").replace("\n", "\n      ")
    token = encrypted_string(pw, TOKEN, "api_token").replace("\n", "\n      ")
    inventory.write_text(f"all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      project: {demo}\n"
                         f"      {app}\n      {token}\n")
    return inventory


def test_load_inventory_decrypts_inline_values_and_vaulted_files(ini_inventory, pw):
    vault = VaultSecrets.from_options([str(pw)], environ={})
    inventory = load_inventory(ini_inventory, vault)
    host = inventory["localhost"]
    assert host.vars["api_token"] == TOKEN
    assert host.vars["backup_url"] == f"postgres://thebot:{DB_PASSWORD}@db.internal/thebot"
    assert (host.vars["smtp_relay_secret"], host.vars["app"]) == (SMTP, APP)
    assert host.vars["plain_setting"] == "visible-value"
    assert inventory.warnings == []
    assert {TOKEN, SMTP, APP, f"postgres://thebot:{DB_PASSWORD}@db.internal/thebot"} <= inventory.secrets
    assert inventory.secrets <= vault.plaintexts
    assert "visible-value" not in inventory.secrets

    without = load_inventory(ini_inventory)
    assert isinstance(without["localhost"].vars["api_token"], Vaulted)
    assert "app" not in without["localhost"].vars and without.secrets == set()
    assert without.warnings == [f"{ini_inventory.parent / 'group_vars' / 'web.yml'}: encrypted with ansible-vault, "
                                "skipped: give --vault-password-file, --vault-id or --ask-vault-pass to read it"]


def test_inventory_command_masks_every_decrypted_value(ini_inventory, pw):
    run = invoke("inventory", "-i", str(ini_inventory), "--vault-password-file", str(pw))
    assert (run.returncode, run.stderr) == (0, "")
    shown = json.loads(run.stdout)[0]["vars"]
    assert shown["api_token"] == "****" and shown["smtp_relay_secret"] == "****" and shown["app"] == "****"
    assert shown["backup_url"] == "****" and shown["plain_setting"] == "visible-value"
    assert_never_shown(run.output, TOKEN, DB_PASSWORD, SMTP, APP, PASSWORD)

    run = invoke("inventory", "-i", str(ini_inventory))
    assert run.returncode == 0
    assert run.stderr == (f"warning: {ini_inventory.parent / 'group_vars' / 'web.yml'}: encrypted with ansible-vault, "
                          "skipped: give --vault-password-file, --vault-id or --ask-vault-pass to read it\n")
    assert json.loads(run.stdout)[0]["vars"]["api_token"] == "****"


def test_inventory_with_a_wrong_password_is_one_line(ini_inventory, tmp_path):
    wrong = password_file(tmp_path, "not it", "wrong-pass")
    before = tree_digest(ini_inventory.parent)
    run = invoke("inventory", "-i", str(ini_inventory), "--vault-password-file", str(wrong))
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == f"error: {ini_inventory.parent / 'group_vars' / 'all.yml'}:2: {HMAC_FAILED}\n"
    assert tree_digest(ini_inventory.parent) == before


def test_a_vaulted_connection_setting_needs_the_flags(tmp_path, pw):
    inventory = tmp_path / "hosts.yml"
    address = encrypted_string(pw, "10.9.8.7", "ansible_host").replace("\n", "\n      ")
    inventory.write_text(f"all:\n  hosts:\n    web1:\n      {address}\n")
    run = invoke("inventory", "-i", str(inventory))
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (f"error: {inventory}:4: host 'web1': address is vault-encrypted: give --vault-password-file, "
                          "--vault-id or --ask-vault-pass to decrypt it\n")
    run = invoke("inventory", "-i", str(inventory), "--vault-password-file", str(pw))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)[0]["address"] == "****"  # decrypted, used, and still never shown


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_audit_of_a_vaulted_yaml_inventory_never_shows_a_decrypted_value(yaml_inventory, pw, fmt):
    run = invoke("audit", "-i", str(yaml_inventory), "--vault-password-file", str(pw), "--format", fmt, timeout=300)
    assert run.returncode == 1, run.stderr  # the demo is blocked; the audit ran
    if fmt == "json":
        document = json.loads(run.stdout)
        assert document["hosts"][0]["status"] == "ok"
        assert document["hosts"][0]["facts"]["app"] == "****"  # the decrypted app name reached the report, masked
    assert_never_shown(run.output, APP, TOKEN, PASSWORD)


def test_audit_of_an_ini_inventory_with_vaulted_group_vars(ini_inventory, pw):
    run = invoke("audit", "-i", str(ini_inventory), "--vault-id", f"prod@{pw}", "--format", "json", timeout=300)
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout)["hosts"][0]["facts"]["app"] == "****"
    assert_never_shown(run.output, APP, TOKEN, DB_PASSWORD, SMTP, PASSWORD)


# --- a vaulted --secrets file for fix-prod ---------------------------------------------------------

SECRETS = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ",
    "OPENROUTER_API_KEY": "sk-or-v1-PLANTEDopenrouter0123",
    "YOOKASSA_SHOP_ID": "506751",
    "YOOKASSA_SECRET_KEY": "live_PLANTEDyookassa0123",
    "EMAIL_HOST": "smtp.example.com",
    "EMAIL_HOST_USER": "PLANTED-mailer@example.com",
    "EMAIL_HOST_PASSWORD": "PLANTED-smtp-pass-0123",
}


def fix_prod_check(project, *args):
    run = invoke("fix-prod", "--project", str(project), "--domain", "thebot.example.com", "--format", "json",
                 "--check", "--diff", *args, timeout=300)
    document = json.loads(run.stdout) if run.stdout.startswith("{") else None
    return run, document


def test_a_vaulted_secrets_file_for_fix_prod_check(lenient_demo, tmp_path, pw):
    secrets = tmp_path / "secrets.env"
    secrets.write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    plain_run, plain_document = fix_prod_check(lenient_demo, "--secrets", str(secrets))
    assert ansible_vault("encrypt", "--vault-password-file", str(pw), str(secrets)).returncode == 0
    before, vaulted = tree_digest(lenient_demo), sha(secrets)

    run, document = fix_prod_check(lenient_demo, "--secrets", str(secrets), "--vault-password-file", str(pw))
    assert run.returncode == plain_run.returncode
    fixes = {fix["name"]: fix["status"] for fix in document["hosts"][0]["fixes"]}
    assert fixes == {fix["name"]: fix["status"] for fix in plain_document["hosts"][0]["fixes"]}
    assert fixes["external"] != "needs input"
    assert tree_digest(lenient_demo) == before and sha(secrets) == vaulted
    assert_never_shown(run.output, *(v for k, v in SECRETS.items() if k not in ("EMAIL_HOST", "YOOKASSA_SHOP_ID")),
                       PASSWORD)

    run, _ = fix_prod_check(lenient_demo, "--secrets", str(secrets))
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (f"error: --secrets: {secrets}: vault-encrypted: give --vault-password-file, --vault-id "
                          "or --ask-vault-pass\n")
    wrong = password_file(tmp_path, "not-the-password", "wrong-pass")
    run, _ = fix_prod_check(lenient_demo, "--secrets", str(secrets), "--vault-password-file", str(wrong))
    assert (run.returncode, run.stdout, run.stderr) == (2, "", f"error: --secrets: {secrets}: {HMAC_FAILED}\n")
    assert tree_digest(lenient_demo) == before and sha(secrets) == vaulted


# --- the vault flags on every command that reads an inventory ------------------------------------


@pytest.mark.parametrize("command", [["audit"], ["fix-prod", "--check"], ["inventory"], ["deploy", "--check"],
                                     ["releases"], ["rollback"], ["rollback", "--release"]])
def test_every_inventory_command_takes_the_vault_flags(tmp_path, pw, command):
    inventory = tmp_path / "hosts.yml"
    deploy_to = encrypted_string(pw, str(tmp_path / "srv-PLANTED-app"), "deploy_to").replace("\n", "\n      ")
    inventory.write_text(f"all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      {deploy_to}\n")
    missing = tmp_path / "missing-pass"
    run = invoke(*command, "-i", str(inventory), "--vault-password-file", str(missing))
    assert (run.returncode, run.stdout, run.stderr) == (2, "", f"error: vault password file {missing} was not found\n")
    run = invoke(*command, "-i", str(inventory), "--vault-id", "a;b@x")
    assert (run.returncode, run.stderr) == (2, "error: --vault-id: 'a;b@x' is not a valid vault id: ';' is not "
                                               "allowed in vault ids\n")


def test_releases_reads_a_vaulted_deploy_to_and_never_shows_it(tmp_path, pw):
    inventory = tmp_path / "hosts.yml"
    deploy_to = encrypted_string(pw, str(tmp_path / "srv-PLANTED-app"), "deploy_to").replace("\n", "\n      ")
    inventory.write_text(f"all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      {deploy_to}\n")
    run = invoke("releases", "-i", str(inventory), "--vault-password-file", str(pw))
    assert (run.returncode, run.stdout) == (0, "localhost:\n  no releases\n"), run.stderr
    assert_never_shown(run.output, str(tmp_path / "srv-PLANTED-app"), PASSWORD)
    run = invoke("releases", "-i", str(inventory))
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == ("error: localhost: deploy_to is vault-encrypted: give --vault-password-file, --vault-id or "
                          "--ask-vault-pass to decrypt it\n")


def test_a_100_value_inventory_derives_each_key_once(tmp_path, pw):
    """The cost of a vault value is its key derivation: one per (password, salt), never again."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    ansible = VaultLib([("default", VaultSecret(PASSWORD.encode()))])
    lines = ["all:", "  vars:"]
    for index in range(100):
        lines.append(f"    value_{index}: !vault |")
        lines += [" " * 6 + line for line in ansible.encrypt(f"PLANTED-{index:03d}").decode().splitlines()]
    lines += ["  hosts:"] + [f"    web{n}: {{ansible_connection: local}}" for n in range(5)]
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("\n".join(lines) + "\n")
    vault = VaultSecrets.from_options([str(pw)], environ={})
    loaded = load_inventory(inventory, vault)
    assert [host.vars["value_42"] for host in loaded] == ["PLANTED-042"] * 5
    assert len(vault.keys._keys) == 100 and len(loaded.secrets) == 100
    again = load_inventory(inventory, vault)
    assert len(vault.keys._keys) == 100 and again["web3"].vars["value_99"] == "PLANTED-099"
