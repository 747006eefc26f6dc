"""--store-in-vault over real sshd hosts: the set's new key lands vaulted in the group's vars file,
which the real ansible-vault decrypts to the key on the hosts; other lines of the file are kept,
a rotation replaces the block, and what cannot work stops before any host is touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from conftest import tree_digest
from fleetkeys_helpers import GROUP, fix_prod, fix_status, hosts_of, leaked, prod_env, write_inventory
from sshd import ssh_client_key, ssh_hosts  # noqa: F401  (fixtures)
from test_fleet_keys import projects_for


PASSWORD = "PLANTEDvaultpass-0123456789"
OTHER = "# kept as it is\nother_var: 1\n"


def ansible_vault_decrypt(block: str, folder) -> str:
    """The value of an inline !vault block, as the real ansible-vault decrypts it."""
    envelope = folder / "envelope"
    envelope.write_text("\n".join(line.strip() for line in block.splitlines()[1:]) + "\n")
    tool = shutil.which("ansible-vault", path=os.path.dirname(sys.executable)) or shutil.which("ansible-vault")
    assert tool, "ansible-vault is not installed: pip install -e '.[test]' (ansible-core)"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    done = subprocess.run([tool, "decrypt", "--vault-password-file", str(folder / "pass"), "--output", "-",
                           str(envelope)], capture_output=True, text=True, env=environ, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def block_of(text: str, name: str) -> str:
    lines = text.splitlines()
    start = lines.index(f"{name}: !vault |")
    end = start + 1
    while end < len(lines) and lines[end].startswith(" "):
        end += 1
    return "\n".join(lines[start:end]) + "\n"


def test_the_new_key_is_stored_vaulted_for_the_group(ssh_hosts, tmp_path, monkeypatch):
    hosts = ssh_hosts(2)
    projects = projects_for(tmp_path, hosts)
    inventory, known = write_inventory(tmp_path, hosts, projects)
    (tmp_path / "pass").write_text(PASSWORD + "\n")
    folder = tmp_path / "group_vars" / GROUP
    folder.mkdir(parents=True)
    vars_file = folder / "vault.yml"
    vars_file.write_text(OTHER)
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(tmp_path / "pass"))
    store = str(tmp_path / "group_vars" / "{group}" / "vault.yml")

    run, document = fix_prod(inventory, known, "--store-in-vault", store)
    key = prod_env(projects[0])["SECRET_KEY"]
    assert prod_env(projects[1])["SECRET_KEY"] == key
    text = vars_file.read_text()
    assert text.startswith(OTHER) and text.count("vault_secret_key_thebot: !vault |") == 1
    assert ansible_vault_decrypt(block_of(text, "vault_secret_key_thebot"), tmp_path) == key
    assert hosts_of(document)["web1"]["notes"][-1] == (
        f"secret_key_group {GROUP}: the set's new key stored vaulted in {vars_file} as vault_secret_key_thebot")

    again, document = fix_prod(inventory, known, "--store-in-vault", store)
    assert vars_file.read_text() == text, "an adopted key is not new: nothing stored"

    rotated, document = fix_prod(inventory, known, "--rotate-secret-key", "--store-in-vault", store)
    new = prod_env(projects[0])["SECRET_KEY"]
    assert fix_status(hosts_of(document)["web2"])[0] == "changed" and new != key
    text = vars_file.read_text()
    assert text.startswith(OTHER) and text.count("vault_secret_key_thebot: !vault |") == 1
    assert ansible_vault_decrypt(block_of(text, "vault_secret_key_thebot"), tmp_path) == new
    assert leaked("\n".join(r.output for r in (run, again, rotated)), [key, new, PASSWORD]) == []


def test_store_in_vault_that_cannot_work_stops_before_any_host(ssh_hosts, tmp_path, monkeypatch):
    hosts = ssh_hosts(1)
    projects = projects_for(tmp_path, hosts)
    inventory, known = write_inventory(tmp_path, hosts, projects)
    before = tree_digest(projects[0])
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_IDENTITY_LIST", raising=False)
    run, _ = fix_prod(inventory, known, "--store-in-vault", str(tmp_path / "vault.yml"))
    assert (run.returncode, run.stderr) == (2, "error: --store-in-vault needs a vault password: --vault-password-file, "
                                               "--vault-id, --ask-vault-pass or ANSIBLE_VAULT_PASSWORD_FILE\n")
    (tmp_path / "pass").write_text(PASSWORD + "\n")
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(tmp_path / "pass"))
    whole = tmp_path / "whole.yml"
    whole.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    run, _ = fix_prod(inventory, known, "--store-in-vault", str(whole))
    assert (run.returncode, run.stderr) == (2, f"error: --store-in-vault: {whole}: a whole-file vault; give a plain "
                                               "vars file (its values vaulted inline) or decrypt it first\n")
    run, _ = fix_prod(inventory, known, "--store-in-vault", str(tmp_path / "nowhere" / "vault.yml"))
    assert (run.returncode, run.stderr) == (2, f"error: --store-in-vault: {tmp_path / 'nowhere'}: no such directory\n")
    assert tree_digest(projects[0]) == before
    assert hosts[0].accepted() == 0, "no host was connected to"
