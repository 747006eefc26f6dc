"""Ansible Vault, compatible both ways: the format, the real ansible-vault in both directions, the
verbs of `invoke vault`, the password sources, and bad input (one line, exit 2, files byte-identical)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import invoke
from vault_helpers import ansible_tool, ansible_vault, ansible_view, assert_never_shown, password_file, sha

from remediation.vault import HMAC_FAILED, VaultError, VaultSecrets, encrypt_string, parse
from remediation.vault.format import Keys, encrypt_body

PASSWORD = "correct horse battery staple"
PLAINTEXT = "db_password: Pl@nted-s3cret/äö'%\nline two without a final newline"


@pytest.fixture
def pw(tmp_path):
    return password_file(tmp_path, PASSWORD)


@pytest.fixture
def plain(tmp_path):
    path = tmp_path / "secrets.yml"
    path.write_bytes(PLAINTEXT.encode())
    path.chmod(0o640)
    return path


def secrets(password=PASSWORD, label="default"):
    return VaultSecrets([(label, password.encode())])


# --- the format -------------------------------------------------------------------------------------


def test_round_trip_1_1_and_1_2_with_ansibles_layout():
    plain_11 = secrets().encrypt(PLAINTEXT)
    lines = plain_11.decode().split("\n")
    assert lines[0] == "$ANSIBLE_VAULT;1.1;AES256"
    assert lines[-1] == "" and all(len(line) == 80 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 80
    assert secrets().decrypt(plain_11) == PLAINTEXT
    labelled = secrets(label="prod").encrypt(PLAINTEXT)
    assert labelled.decode().split("\n")[0] == "$ANSIBLE_VAULT;1.2;AES256;prod"
    assert parse(labelled).vault_id == "prod"
    assert secrets(label="prod").decrypt(labelled) == PLAINTEXT
    # a fresh salt each time: the same value twice gives two different vaults
    assert secrets().encrypt("same") != secrets().encrypt("same")


def test_same_bytes_as_ansible_cores_cipher_for_a_given_salt():
    from ansible.parsing.vault import VaultAES256, VaultSecret

    salt = bytes(range(32))
    ours = encrypt_body(PLAINTEXT.encode(), PASSWORD.encode(), Keys(), salt=salt)
    theirs = VaultAES256.encrypt(PLAINTEXT.encode(), VaultSecret(PASSWORD.encode()), salt=salt)
    assert ours == theirs


def test_decrypted_values_join_the_scrub_list_and_keys_are_cached():
    vault = secrets()
    texts = [vault.encrypt(f"value-{i}") for i in range(5)]
    vault.prepare(texts)
    assert len(vault.keys._keys) == 5
    assert [vault.decrypt(t) for t in texts] == [f"value-{i}" for i in range(5)]
    assert len(vault.keys._keys) == 5  # decrypt derived nothing more
    assert vault.plaintexts == {f"value-{i}" for i in range(5)}


def test_the_matching_label_is_tried_first_then_the_others():
    text = secrets(label="b").encrypt("for b")
    both = VaultSecrets([("a", b"password of a"), ("b", PASSWORD.encode())])
    assert both.decrypt(text) == "for b"
    assert list(both.keys._keys) == [(PASSWORD.encode(), parse(text).salt)]  # a's password never tried
    # a label nobody gave: every password is tried, as Ansible does
    relabelled = text.replace(b";b\n", b";elsewhere\n")
    assert VaultSecrets([("a", b"nope"), ("c", PASSWORD.encode())]).decrypt(relabelled) == "for b"


@pytest.mark.parametrize("text, message", [
    (b"$ANSIBLE_VAULT;1.1;AES256\n", "truncated vault: a header and no encrypted body"),
    (b"$ANSIBLE_VAULT;1.1;AES256\n6162\n", "truncated or malformed vault: the body lacks its salt, HMAC or ciphertext"),
    (b"$ANSIBLE_VAULT;1.1;AES256\nxyz\n", "truncated or malformed vault: the body is not hexadecimal of even length"),
    (b"$ANSIBLE_VAULT;1.1;DES\n00\n", "unsupported vault cipher 'DES' (expected AES256)"),
    (b"$ANSIBLE_VAULT;9.9;AES256\n00\n", "unsupported vault format version '9.9' (expected 1.1 or 1.2)"),
    (b"$ANSIBLE_VAULT\n00\n", "malformed vault header: expected $ANSIBLE_VAULT;1.1;AES256 or "
                              "$ANSIBLE_VAULT;1.2;AES256;LABEL"),
])
def test_malformed_envelopes_are_one_line(text, message):
    with pytest.raises(VaultError) as caught:
        secrets().decrypt(text)
    assert str(caught.value) == message


def test_no_secrets_and_unknown_id_messages():
    text = secrets(label="prod").encrypt("x-value")
    with pytest.raises(VaultError) as caught:
        VaultSecrets().decrypt(text)
    assert str(caught.value) == ("vault-encrypted and no vault password given: "
                                 "give --vault-password-file, --vault-id or --ask-vault-pass")
    with pytest.raises(VaultError) as caught:
        secrets("wrong").decrypt(text)
    assert str(caught.value) == (f"{HMAC_FAILED}; its vault id 'prod' is unknown (given: default): "
                                 "give --vault-id prod@SOURCE")
    with pytest.raises(VaultError) as caught:
        secrets("wrong", label="prod").decrypt(text)
    assert str(caught.value) == HMAC_FAILED
    with pytest.raises(VaultError) as caught:
        secrets().encrypt("x", vault_id="staging")
    assert str(caught.value) == "unknown vault id 'staging' (given: default)"


# --- the real ansible-vault, both ways ------------------------------------------------------------


def test_files_ansible_vault_encrypts_we_decrypt(tmp_path, pw, plain):
    for args, header in ((["--vault-password-file", str(pw)], "$ANSIBLE_VAULT;1.1;AES256"),
                         (["--vault-id", f"prod@{pw}"], "$ANSIBLE_VAULT;1.2;AES256;prod")):
        target = tmp_path / "theirs.yml"
        done = ansible_vault("encrypt", *args, str(plain), "--output", str(target))
        assert done.returncode == 0, done.stderr
        assert target.read_text().split("\n")[0] == header
        run = invoke("vault", "view", str(target), *args)
        assert (run.returncode, run.stdout, run.stderr) == (0, PLAINTEXT, "")
        target.unlink()


def test_encrypt_string_values_ansible_vault_prints_we_decrypt(tmp_path, pw):
    for args in (["--vault-password-file", str(pw)], ["--vault-id", f"prod@{pw}"]):
        done = ansible_vault("encrypt_string", *args, "--name", "api_token", "--stdin-name", "api_token",
                             stdin="tok-PLANTED-4242")
        assert done.returncode == 0, done.stderr
        value = yaml.load(done.stdout, Loader=_VaultLoader)["api_token"]
        assert VaultSecrets.from_options([str(pw)], environ={}).decrypt(value) == "tok-PLANTED-4242"


class _VaultLoader(yaml.SafeLoader):
    pass


_VaultLoader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))


def test_files_we_encrypt_ansible_vault_decrypts(tmp_path, pw, plain):
    run = invoke("vault", "encrypt", str(plain), "--vault-password-file", str(pw))
    assert (run.returncode, run.stdout, run.stderr) == (0, "", f"encrypted {plain}\n")
    assert plain.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    assert stat.S_IMODE(plain.stat().st_mode) == 0o640  # the mode is kept
    done = ansible_view("--vault-password-file", str(pw), str(plain))
    assert (done.returncode, done.stdout) == (0, PLAINTEXT)

    other = tmp_path / "other.yml"
    other.write_text("labelled: yes\n")
    run = invoke("vault", "encrypt", str(other), "--vault-id", f"prod@{pw}")
    assert run.returncode == 0, run.stderr
    assert other.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;prod\n")
    done = ansible_vault("decrypt", "--vault-id", f"prod@{pw}", str(other), "--output", "-")
    assert (done.returncode, done.stdout) == (0, "labelled: yes\n")


def test_encrypt_string_we_print_ansible_reads(tmp_path, pw):
    value = tmp_path / "value"
    value.write_text("tok-PLANTED-4242")
    run = invoke("vault", "encrypt-string", str(value), "--name", "api_token", "--vault-password-file", str(pw))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split("\n")
    assert lines[0] == "api_token: !vault |" and lines[1] == " " * 10 + "$ANSIBLE_VAULT;1.1;AES256"
    assert run.stdout.endswith("\n") and lines[-1] == ""
    assert_never_shown(run.output, "tok-PLANTED-4242")
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(run.stdout)
    playbook = tmp_path / "show.yml"
    playbook.write_text(f"- hosts: localhost\n  gather_facts: false\n  vars_files: [{vars_file}]\n"
                        "  tasks:\n    - debug: {msg: 'value=[{{ api_token }}]'}\n")
    done = subprocess.run([ansible_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "--vault-password-file", str(pw)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "value=[tok-PLANTED-4242]" in done.stdout


def test_encrypt_string_function_matches_the_command(pw):
    vault = VaultSecrets.from_options([str(pw)], environ={})
    block = encrypt_string("v4lue-PLANTED", vault, name="x", vault_id=None)
    assert block.startswith("x: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n")
    assert vault.decrypt(yaml.load(block, Loader=_VaultLoader)["x"]) == "v4lue-PLANTED"
    labelled = encrypt_string("v4lue-PLANTED", VaultSecrets([("prod", PASSWORD.encode())]))
    assert labelled.startswith("!vault |\n          $ANSIBLE_VAULT;1.2;AES256;prod\n")


# --- the verbs --------------------------------------------------------------------------------------


def test_decrypt_in_place_and_to_output(tmp_path, pw, plain):
    assert ansible_vault("encrypt", "--vault-password-file", str(pw), str(plain)).returncode == 0
    plain.chmod(0o640)
    out = tmp_path / "out.yml"
    run = invoke("vault", "decrypt", str(plain), "--output", str(out), "--vault-password-file", str(pw))
    assert (run.returncode, run.stderr) == (0, f"decrypted {out}\n")
    assert out.read_text() == PLAINTEXT and stat.S_IMODE(out.stat().st_mode) == 0o600
    run = invoke("vault", "decrypt", str(plain), "--vault-password-file", str(pw))
    assert run.returncode == 0 and plain.read_text() == PLAINTEXT
    assert stat.S_IMODE(plain.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yml", "secrets.yml", "vault-pass"]  # no temp debris


def test_rekey_with_a_new_password_file_and_a_new_vault_id(tmp_path, pw, plain):
    assert ansible_vault("encrypt", "--vault-password-file", str(pw), str(plain)).returncode == 0
    new = password_file(tmp_path, "a new password", "new-pass")
    run = invoke("vault", "rekey", str(plain), "--vault-password-file", str(pw), "--new-vault-password-file", str(new))
    assert (run.returncode, run.stderr) == (0, f"rekeyed {plain}\n")
    assert ansible_view("--vault-password-file", str(pw), str(plain)).returncode != 0
    assert ansible_view("--vault-password-file", str(new), str(plain)).stdout == PLAINTEXT
    run = invoke("vault", "rekey", str(plain), "--vault-password-file", str(new), "--new-vault-id", f"prod@{pw}")
    assert run.returncode == 0, run.stderr
    assert plain.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;prod\n")
    assert ansible_view("--vault-id", f"prod@{pw}", str(plain)).stdout == PLAINTEXT


def _editor(tmp_path, action: str) -> dict:
    """An $EDITOR that logs where it was called and how the file was protected, then does `action`."""
    log = tmp_path / "editor.log"
    script = tmp_path / "editor.sh"
    script.write_text(f'#!/bin/sh\nstat -c "%a %n" "$1" > {log}\n{action}\n')
    script.chmod(0o755)
    return {"EDITOR": str(script)}, log


def test_edit_uses_a_private_temp_file_and_reencrypts_only_a_change(tmp_path, pw, plain):
    assert ansible_vault("encrypt", "--vault-id", f"prod@{pw}", str(plain)).returncode == 0
    before = sha(plain)
    env, log = _editor(tmp_path, "true")
    run = invoke("vault", "edit", str(plain), "--vault-password-file", str(pw), env=env)
    assert (run.returncode, run.stderr) == (0, f"{plain} unchanged\n")
    assert sha(plain) == before
    mode, temp = log.read_text().split()
    assert mode == "600" and temp.startswith("/dev/shm/vault-edit.") and temp.endswith(".yml")
    assert not Path(temp).exists()

    env, log = _editor(tmp_path, 'printf "edited: PLANTED-edit\\n" > "$1"')
    run = invoke("vault", "edit", str(plain), "--vault-password-file", str(pw), env=env)
    assert (run.returncode, run.stderr) == (0, f"edited {plain}\n")
    assert not Path(log.read_text().split()[1]).exists()
    assert plain.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;prod\n")  # the header's id is kept
    assert ansible_view("--vault-id", f"prod@{pw}", str(plain)).stdout == "edited: PLANTED-edit\n"

    env, log = _editor(tmp_path, 'echo changed > "$1"; exit 3')
    before = sha(plain)
    run = invoke("vault", "edit", str(plain), "--vault-password-file", str(pw), env=env)
    assert (run.returncode, run.stderr) == (2, f"error: the editor exited with status 3; {plain} left as it was\n")
    assert sha(plain) == before and not Path(log.read_text().split()[1]).exists()


def test_view_prints_exactly_and_encrypt_string_reads_stdin(tmp_path, pw):
    data = tmp_path / "exact.txt"
    data.write_bytes("no newline at the end: ünïcödé".encode())
    assert invoke("vault", "encrypt", str(data), "--vault-password-file", str(pw)).returncode == 0
    run = invoke("vault", "view", str(data), "--vault-password-file", str(pw))
    assert (run.returncode, run.stdout, run.stderr) == (0, "no newline at the end: ünïcödé", "")

    done = subprocess.run([sys.executable, "-m", "invoke", "vault", "encrypt-string", "-", "--vault-password-file",
                           str(pw)], input="from-stdin-PLANTED", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("!vault |\n")
    value = yaml.load(done.stdout, Loader=_VaultLoader)
    assert VaultSecrets.from_options([str(pw)], environ={}).decrypt(value) == "from-stdin-PLANTED"


# --- password sources ---------------------------------------------------------------------------------


def test_an_executable_password_file_is_run_and_a_client_script_gets_its_vault_id(tmp_path, plain):
    script = tmp_path / "pass.sh"
    script.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
    script.chmod(0o700)
    client = tmp_path / "vault-client.sh"
    args_log = tmp_path / "client-args"
    client.write_text(f'#!/bin/sh\necho "$@" > {args_log}\n[ "$2" = prod ] || exit 2\necho \'{PASSWORD}\'\n')
    client.chmod(0o700)
    assert invoke("vault", "encrypt", str(plain), "--vault-password-file", str(script)).returncode == 0
    run = invoke("vault", "view", str(plain), "--vault-id", f"prod@{client}")
    assert (run.returncode, run.stdout) == (0, PLAINTEXT)
    assert args_log.read_text() == "--vault-id prod\n"
    run = invoke("vault", "view", str(plain), "--vault-id", f"staging@{client}")
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == f"error: vault password client script {client} has no secret for vault id 'staging'\n"


def test_environment_sources(tmp_path, pw, plain):
    assert invoke("vault", "encrypt", str(plain), "--vault-id", f"prod@{pw}").returncode == 0
    run = invoke("vault", "view", str(plain), env={"ANSIBLE_VAULT_PASSWORD_FILE": str(pw)})
    assert (run.returncode, run.stdout) == (0, PLAINTEXT)
    other = password_file(tmp_path, "other", "other-pass")
    run = invoke("vault", "view", str(plain), env={"ANSIBLE_VAULT_IDENTITY_LIST": f"dev@{other}, prod@{pw}"})
    assert (run.returncode, run.stdout) == (0, PLAINTEXT)


def test_ask_vault_pass_prompts_on_the_terminal(tmp_path, pw, plain):
    import pexpect

    assert invoke("vault", "encrypt", str(plain), "--vault-password-file", str(pw)).returncode == 0
    child = pexpect.spawn(sys.executable, ["-m", "invoke", "vault", "view", str(plain), "--ask-vault-pass"],
                          cwd=str(Path(__file__).resolve().parents[1]), encoding="utf-8", timeout=60)
    child.expect("Vault password: ")
    child.sendline(PASSWORD)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert PLAINTEXT.replace("\n", "\r\n") in child.before
    assert PASSWORD not in child.before  # not echoed

    child = pexpect.spawn(sys.executable, ["-m", "invoke", "vault", "view", str(plain), "--vault-id", "prod@prompt"],
                          cwd=str(Path(__file__).resolve().parents[1]), encoding="utf-8", timeout=60)
    child.expect(r"Vault password \(prod\): ")
    child.sendline("not the password")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert child.before.strip() == f"error: {plain}: {HMAC_FAILED}"


def test_vault_id_forms_as_ansibles():
    from remediation.vault import split_vault_id

    assert split_vault_id("prod@~/.vault-pass") == ("prod", "~/.vault-pass")
    assert split_vault_id("/etc/vault-pass") == ("default", "/etc/vault-pass")
    assert split_vault_id("@prompt") == ("default", "prompt")
    assert split_vault_id("dev@pass@file") == ("dev", "pass@file")
    for bad, message in (("prod@", "--vault-id: 'prod@': expected LABEL@SOURCE (SOURCE a file, a script or prompt)"),
                         ("", "--vault-id: empty value (expected LABEL@SOURCE)")):
        with pytest.raises(VaultError) as caught:
            split_vault_id(bad)
        assert str(caught.value) == message


# --- bad input: one line, exit 2, the file byte-identical ---------------------------------------------


def _tamper(path: Path) -> None:
    """One byte of the ciphertext changed, the format intact: only the HMAC can tell."""
    from binascii import hexlify, unhexlify

    header, *body = path.read_text().split("\n")
    salt, mac, ciphertext = unhexlify("".join(body)).split(b"\n", 2)
    ciphertext = ciphertext[:6] + (b"0" if ciphertext[6:7] != b"0" else b"1") + ciphertext[7:]
    inner = hexlify(b"\n".join([salt, mac, ciphertext]))
    path.write_bytes(header.encode() + b"\n" + b"\n".join(inner[i:i + 80] for i in range(0, len(inner), 80)) + b"\n")


def _truncate(path: Path) -> None:
    path.write_text("\n".join(path.read_text().split("\n")[:3]) + "\n")


@pytest.mark.parametrize("verb", ["view", "decrypt", "edit", "rekey"])
@pytest.mark.parametrize("case", ["wrong password", "tampered", "truncated", "unknown id", "no secrets",
                                  "missing password file", "not vaulted"])
def test_bad_vaults_are_one_line_exit_2_and_change_nothing(tmp_path, pw, plain, verb, case):
    assert ansible_vault("encrypt", "--vault-id", f"prod@{pw}", str(plain)).returncode == 0
    wrong = password_file(tmp_path, "wrong password", "wrong-pass")
    args = ["--vault-password-file", str(pw)]
    expected = None
    if case == "wrong password":
        args = ["--vault-id", f"prod@{wrong}"]
        expected = f"{plain}: {HMAC_FAILED}"
    elif case == "tampered":
        args = ["--vault-id", f"prod@{pw}"]
        _tamper(plain)
        expected = f"{plain}: {HMAC_FAILED}"
    elif case == "truncated":
        _truncate(plain)
    elif case == "unknown id":
        args = ["--vault-id", f"dev@{wrong}"]
        expected = f"{plain}: {HMAC_FAILED}; its vault id 'prod' is unknown (given: dev): give --vault-id prod@SOURCE"
    elif case == "no secrets":
        args = []
        expected = "no vault password given: give --vault-password-file, --vault-id or --ask-vault-pass"
    elif case == "missing password file":
        args = ["--vault-password-file", str(tmp_path / "nope")]
        expected = f"vault password file {tmp_path / 'nope'} was not found"
    elif case == "not vaulted":
        plain.write_text("plain: text\n")
        expected = f"{plain}: not vault-encrypted (no $ANSIBLE_VAULT header)"
    if verb == "rekey":
        args += ["--new-vault-password-file", str(password_file(tmp_path, "new one", "new-pass"))]
    env, log = _editor(tmp_path, 'echo changed > "$1"')
    before, listing = sha(plain), sorted(os.listdir(tmp_path))
    run = invoke("vault", verb, str(plain), *args, env=env)
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.stderr.splitlines()) == 1 and run.stderr.startswith("error: ")
    if expected:
        assert run.stderr == f"error: {expected}\n"
    else:
        assert run.stderr.startswith(f"error: {plain}: truncated")
    assert "Traceback" not in run.stderr
    assert sha(plain) == before and sorted(os.listdir(tmp_path)) == listing
    assert not log.exists()  # the editor never ran
    assert_never_shown(run.output, PASSWORD, "Pl@nted-s3cret/äö'%")


def test_bad_command_lines(tmp_path, pw, plain):
    before = sha(plain)
    cases = [
        (["vault", "shred", str(plain)], "unknown action 'shred': use one of encrypt, decrypt, view, edit, rekey, "
                                         "encrypt-string"),
        (["vault", "encrypt", str(tmp_path / "missing"), "--vault-password-file", str(pw)],
         f"{tmp_path / 'missing'}: no such file"),
        (["vault", "view", str(plain), "--vault-id", "a;b@x"],
         "--vault-id: 'a;b@x' is not a valid vault id: ';' is not allowed in vault ids"),
        (["vault", "view", str(plain), "--name", "x", "--vault-password-file", str(pw)],
         "--name names the variable of encrypt-string only"),
        (["vault", "encrypt", str(plain), "--vault-password-file", str(pw), "--encrypt-vault-id", "prod"],
         "unknown vault id 'prod' (given: default)"),
    ]
    for args, message in cases:
        run = invoke(*args)
        assert (run.returncode, run.stdout, run.stderr) == (2, "", f"error: {message}\n")
    assert sha(plain) == before
    assert invoke("vault", "encrypt", str(plain), "--vault-password-file", str(pw)).returncode == 0
    vaulted = sha(plain)
    run = invoke("vault", "encrypt", str(plain), "--vault-password-file", str(pw))
    assert (run.returncode, run.stderr) == (2, f"error: {plain}: already vault-encrypted\n")
    assert sha(plain) == vaulted
