"""ansible-vault's file verbs: encrypt, decrypt, view, edit, rekey, encrypt-string.

Every write is atomic (a temp file beside the target, then a rename) and keeps the file's mode;
a new ``--output`` file is 0600. Any error leaves every file byte-identical.

``edit`` decrypts into a private temp file (mode 0600, in /dev/shm when there is one, so the
plaintext stays in memory), runs ``$EDITOR`` (default ``vi``) on it, overwrites and removes the
temp file whatever happens, and re-encrypts only when the text changed: with the password that
opened the file and the vault id of its header, as ansible-vault does.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from ..transport import Local
from .format import VaultError, encrypt_body, envelope_text, is_vaulted, parse
from .secrets import VaultSecrets, encrypt_string

PRIVATE_TMP = "/dev/shm"


def read(path: str) -> bytes:
    file = Path(path)
    if not file.exists():
        raise VaultError(f"{path}: no such file")
    if file.is_dir():
        raise VaultError(f"{path}: is a directory")
    try:
        return file.read_bytes()
    except OSError as exc:
        raise VaultError(f"{path}: {exc.strerror or 'cannot read'}") from None


def write(path: str, data: bytes, new_mode: int = 0o600) -> None:
    """Atomically; an existing file keeps its mode, a new one gets ``new_mode``."""
    target = Path(path)
    if target.is_dir():
        raise VaultError(f"{path}: is a directory")
    try:
        Local().write_atomic(str(target), data, mode=None if target.exists() else new_mode)
    except OSError as exc:
        raise VaultError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _vaulted(path: str) -> bytes:
    data = read(path)
    if not is_vaulted(data):
        raise VaultError(f"{path}: not vault-encrypted (no $ANSIBLE_VAULT header)")
    return data


def encrypt_file(path: str, secrets: VaultSecrets, vault_id: str | None = None, output: str | None = None) -> None:
    data = read(path)
    if is_vaulted(data):
        raise VaultError(f"{path}: already vault-encrypted")
    write(output or path, secrets.encrypt(data, vault_id))


def decrypt_file(path: str, secrets: VaultSecrets, output: str | None = None) -> bytes | None:
    """Writes the plaintext to ``output`` or over the file; ``output == "-"``: returns it instead."""
    plaintext, _ = secrets.decrypt_bytes(_vaulted(path), where=path)
    if output == "-":
        return plaintext
    write(output or path, plaintext)
    return None


def view(path: str, secrets: VaultSecrets) -> bytes:
    return secrets.decrypt_bytes(_vaulted(path), where=path)[0]


def rekey_file(path: str, secrets: VaultSecrets, new_secrets: VaultSecrets, new_vault_id: str | None = None) -> None:
    plaintext, _ = secrets.decrypt_bytes(_vaulted(path), where=path)
    write(path, new_secrets.encrypt(plaintext, new_vault_id))


def _private_temp(suffix: str) -> tuple[int, str]:
    folder = PRIVATE_TMP if os.path.isdir(PRIVATE_TMP) and os.access(PRIVATE_TMP, os.W_OK) else None
    return tempfile.mkstemp(prefix="vault-edit.", suffix=suffix, dir=folder)  # mode 0600


def _destroy(tmp: str) -> None:
    try:
        size = os.path.getsize(tmp)
        with open(tmp, "r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        pass
    Path(tmp).unlink(missing_ok=True)


def edit_file(path: str, secrets: VaultSecrets, environ=None) -> bool:
    """Edit the plaintext in $EDITOR; True when it changed and the file was re-encrypted."""
    environ = os.environ if environ is None else environ
    data = _vaulted(path)
    plaintext, _, password = secrets.open(data, where=path)
    header = parse(data)  # parsed once already: cannot fail now
    editor = shlex.split(environ.get("EDITOR") or "vi")
    fd, tmp = _private_temp(os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(plaintext)
        try:
            status = subprocess.call(editor + [tmp])
        except OSError as exc:
            raise VaultError(f"cannot run the editor {editor[0]!r} ($EDITOR): {exc.strerror or exc}") from None
        if status != 0:
            raise VaultError(f"the editor exited with status {status}; {path} left as it was")
        edited = Path(tmp).read_bytes()
    finally:
        _destroy(tmp)
    if edited == plaintext:
        return False
    write(path, envelope_text(encrypt_body(edited, password, secrets.keys), header.vault_id))
    return True


def encrypt_value(value: str, secrets: VaultSecrets, name: str | None = None, vault_id: str | None = None,
                  output: str | None = None) -> str | None:
    """encrypt-string: the ``!vault |`` block, printed (returned) or written to ``output``."""
    block = encrypt_string(value, secrets, name=name, vault_id=vault_id)
    if output and output != "-":
        write(output, block.encode("ascii"), new_mode=0o644)
        return None
    return block
