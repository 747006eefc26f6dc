"""``--store-in-vault FILE``: each secret_key_group's new key, vaulted, in a vars file on the controller.

The variable is ``vault_secret_key_<group>`` (Ansible's ``vault_`` prefix; ``.`` and ``-`` in the
group's name become ``_``), an inline ``!vault |`` value as ``ansible-vault encrypt_string --name``
prints it (``remediation.vault.encrypt_string``), so Ansible and our inventory reader decrypt it.
``{group}`` in FILE gives one file per set (``group_vars/{group}/vault.yml``). An existing file
keeps every other line: only the variable's own block is replaced or appended (a YAML round trip
would drop comments and re-indent other vaulted blocks; that is why this is done by hand). The
block is decrypted back and compared before the file is written (atomically, 0600 when new).

Only a key this run generated (or rotated) and wrote to a host is stored; an adopted key is not
new. Everything that can be checked is checked before any host is touched (a password to encrypt
with, a plain vars file where the folder exists); a failure after the hosts were written is a note
on each host of the set: the key is on the hosts, not in the vault.
"""

from __future__ import annotations

import os
import re

from ..fixes.base import CHANGED
from ..runner import UsageError
from ..transport import Local

VAULT_HEADER = "$ANSIBLE_VAULT;"


def variable(group: str) -> str:
    return "vault_secret_key_" + re.sub(r"[.-]", "_", group)


def target(path: str, group: str) -> str:
    return os.path.abspath(os.path.expanduser(str(path).replace("{group}", group)))


def vault_for(options):
    """The run's vault passwords (the vault flags', else Ansible's environment variables); none is bad input."""
    from ..vault import VaultError, VaultSecrets

    secrets = options.vault
    if not secrets:
        try:
            secrets = VaultSecrets.from_options()
        except VaultError as exc:
            raise UsageError(f"--store-in-vault: {exc}") from None
    if not secrets:
        raise UsageError("--store-in-vault needs a vault password: --vault-password-file, --vault-id, "
                         "--ask-vault-pass or ANSIBLE_VAULT_PASSWORD_FILE")
    try:
        secrets.secret_for(None)
    except VaultError as exc:
        raise UsageError(f"--store-in-vault: {exc}") from None
    return secrets


def check(options, groups) -> object:
    """Before any host is touched: a password, and a plain vars file (or none yet) in an existing folder."""
    secrets = vault_for(options)
    for group in groups:
        path = target(options.store_in_vault, group)
        if not os.path.isdir(os.path.dirname(path)):
            raise UsageError(f"--store-in-vault: {os.path.dirname(path)}: no such directory")
        if os.path.exists(path):
            if not os.path.isfile(path):
                raise UsageError(f"--store-in-vault: {path}: not a regular file")
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"--store-in-vault: {path}: cannot read ({getattr(exc, 'strerror', None) or 'not UTF-8'})") from None
            if text.lstrip().startswith(VAULT_HEADER):
                raise UsageError(f"--store-in-vault: {path}: a whole-file vault; give a plain vars file (its values "
                                 "vaulted inline) or decrypt it first")
    return secrets


def replaced(text: str, name: str, block: str) -> str:
    """``text`` with the top-level ``name:`` entry (and its indented lines) replaced by ``block``."""
    lines, out, skipping = text.splitlines(keepends=True), [], False
    for line in lines:
        if re.match(rf"^{re.escape(name)}\s*:", line):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        out.append(line)
    body = "".join(out).rstrip("\n")
    return (body + "\n" if body else "") + block


def store(runs, shared: dict, touched: dict, options, secrets) -> None:
    """Vault each set's new key into its file; the outcome is a note on each host of the set."""
    from ..vault import VaultError, encrypt_string

    by_host = {run.host: run for run in runs}
    for group, members in touched.items():
        plans = [shared[h.name] for h in members if h.name in shared]
        runs_of = [by_host[h.name] for h in members if h.name in by_host]
        if not plans or plans[0].failure or not plans[0].new:
            continue  # nothing new: the set's key was adopted or not decided
        written = any(not r.error and any(f.name == "secret_key" and f.status == CHANGED for f in r.fixes)
                      for r in runs_of)
        path, name = target(options.store_in_vault, group), variable(group)
        if not written:
            note = f"--store-in-vault: the set's new key reached no host; {path} not written"
        else:
            try:
                block = encrypt_string(plans[0].key, secrets, name=name)
                if secrets.decrypt("\n".join(line.strip() for line in block.splitlines()[1:])) != plans[0].key:
                    raise VaultError("the vaulted value does not decrypt to the key")
                local = Local()
                before = local.read_text(path) or ""
                local.write_atomic(path, replaced(before, name, block), local.file_mode(path) or 0o600)
                note = f"the set's new key stored vaulted in {path} as {name}"
            except (VaultError, OSError) as exc:
                note = (f"--store-in-vault: {path}: {getattr(exc, 'strerror', None) or exc}; the new key is on the "
                        "hosts but not stored")
        for run in runs_of:
            run.notes.append(f"secret_key_group {group}: {note}")
