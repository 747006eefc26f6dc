"""``invoke vault ACTION FILE``: ansible-vault's verbs with Ansible's password flags.

Exit 0 done, 2 for anything wrong (one line on stderr, every file as it was). ``view`` writes the
plaintext to stdout exactly; the other verbs say what they did on stderr.
"""

from __future__ import annotations

import getpass
import sys

from . import files
from .format import VaultError
from .secrets import NEED_SECRETS, VaultSecrets

ACTIONS = ("encrypt", "decrypt", "view", "edit", "rekey", "encrypt-string")
NEW_PASSWORD = ("encrypt", "encrypt-string")  # asked twice when prompted, as ansible-vault does


def secrets_for(password_files, ask, vault_ids, new=False) -> VaultSecrets:
    """The run's secrets; with no source at all and a terminal, a prompt (ansible-vault's default)."""
    secrets = VaultSecrets.from_options(password_files, ask, vault_ids, new=new)
    if not secrets and sys.stdin.isatty():
        secrets = VaultSecrets.from_options(ask=True, new=new)
    if not secrets:
        raise VaultError(f"no vault password given: {NEED_SECRETS}")
    return secrets


def _value(file: str) -> str:
    """encrypt-string's value: a file's content exactly, stdin for ``-`` (a hidden prompt on a terminal)."""
    if file == "-":
        if sys.stdin.isatty():
            value = getpass.getpass("String to encrypt (hidden): ")
        else:
            value = sys.stdin.read()
    else:
        try:
            value = files.read(file).decode("utf-8")
        except UnicodeDecodeError:
            raise VaultError(f"{file}: not UTF-8 text; encrypt a binary file with `vault encrypt`") from None
    if value == "":
        raise VaultError("the value to encrypt is empty")
    return value


def run(action: str, file: str, password_files=(), ask: bool = False, vault_ids=(), name: str | None = None,
        output: str | None = None, new_password_files=(), new_vault_ids=(), encrypt_vault_id: str | None = None) -> str:
    """Do ``action``; returns the status line for stderr. ``VaultError`` for anything wrong."""
    if action not in ACTIONS:
        raise VaultError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    if not file or not str(file).strip():
        raise VaultError("FILE: empty value")
    if output is not None and not str(output).strip():
        raise VaultError("--output: empty value")
    if name is not None and action != "encrypt-string":
        raise VaultError("--name names the variable of encrypt-string only")
    if output and action in ("view", "edit", "rekey"):
        raise VaultError(f"--output does not apply to {action} (it rewrites or shows FILE)")
    if (new_password_files or new_vault_ids) and action != "rekey":
        raise VaultError("--new-vault-password-file and --new-vault-id belong to rekey")
    if action == "encrypt-string":
        value = _value(file)  # read before any prompt for the password
    secrets = secrets_for(password_files, ask, vault_ids, new=action in NEW_PASSWORD)
    if action == "encrypt":
        files.encrypt_file(file, secrets, encrypt_vault_id, output)
        return f"encrypted {output or file}"
    if action == "decrypt":
        plaintext = files.decrypt_file(file, secrets, output)
        if plaintext is not None:
            sys.stdout.buffer.write(plaintext)
            sys.stdout.flush()
        return f"decrypted {output if output and output != '-' else file}"
    if action == "view":
        sys.stdout.buffer.write(files.view(file, secrets))
        sys.stdout.flush()
        return ""
    if action == "edit":
        return f"edited {file}" if files.edit_file(file, secrets) else f"{file} unchanged"
    if action == "rekey":
        new = VaultSecrets.from_options(new_password_files, False, new_vault_ids, new=True, environ={})
        if not new and sys.stdin.isatty():
            new = VaultSecrets.from_options(ask=True, new=True, environ={})
        if not new:
            raise VaultError("rekey needs the new password: give --new-vault-password-file or --new-vault-id")
        files.rekey_file(file, secrets, new)
        return f"rekeyed {file}"
    block = files.encrypt_value(value, secrets, name, encrypt_vault_id, output)
    if block is not None:
        sys.stdout.write(block)
        sys.stdout.flush()
        return ""
    return f"encrypted the value into {output}"


def read_secrets(password_files, ask, vault_ids, fail) -> tuple[VaultSecrets | None, int]:
    """For the commands that read inventories: (secrets, or None when no source is given; exit status)."""
    try:
        secrets = VaultSecrets.from_options(password_files, ask, vault_ids)
    except VaultError as exc:
        return None, fail(str(exc))
    except (KeyboardInterrupt, EOFError):
        return None, fail("interrupted at the vault password prompt")
    return (secrets if secrets else None), 0


def main(action: str, file: str, fail, **options) -> int:
    """``invoke vault``: 0 done; ``fail(message)`` (one line, exit 2) for anything wrong."""
    try:
        said = run(action, file, **options)
    except VaultError as exc:
        return fail(str(exc))
    except (KeyboardInterrupt, EOFError):
        return fail(f"interrupted; {file} is as it was")
    if said:
        print(said, file=sys.stderr)
    return 0
