"""The Ansible vault format, byte for byte as ansible-core's ``lib/ansible/parsing/vault``.

Written by hand because the only other implementation is ansible-core itself (a whole automation
engine to import for forty lines); the cryptography is the ``cryptography`` library's:

    $ANSIBLE_VAULT;1.1;AES256            (1.2;AES256;LABEL with a vault id other than "default")
    hex( hex(salt) \\n hex(hmac) \\n hex(ciphertext) ), wrapped at 80 columns, newline-terminated

    key1 | key2 | iv = PBKDF2-HMAC-SHA256(password, salt, 10000 iterations, 32 + 32 + 16 bytes)
    ciphertext = AES-256-CTR(key1, iv, PKCS7-padded plaintext); hmac = HMAC-SHA256(key2, ciphertext)

The key derivation is what costs (10,000 iterations): ``Keys`` caches it per (password, salt).
"""

from __future__ import annotations

import os
import threading
from binascii import Error as BinasciiError
from binascii import hexlify, unhexlify
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

HEADER = b"$ANSIBLE_VAULT"
CIPHER = "AES256"
DEFAULT_ID = "default"
ITERATIONS = 10000
KEY_LENGTH, IV_LENGTH, SALT_LENGTH = 32, 16, 32
HMAC_FAILED = "HMAC check failed: wrong vault password or the file was changed"


class VaultError(ValueError):
    """Anything wrong with a vault, a password source or a vault id: a one-line message, never a secret."""


@dataclass(frozen=True)
class Envelope:
    version: str
    cipher: str
    vault_id: str | None  # the label of a 1.2 envelope
    salt: bytes
    hmac: bytes
    ciphertext: bytes


def is_vaulted(data: str | bytes) -> bool:
    """Vault text starts with the header (leading blank space allowed, as in a YAML block)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return data.lstrip().startswith(HEADER)


def _unhex(data: bytes, what: str) -> bytes:
    try:
        return unhexlify(data)
    except (BinasciiError, TypeError, ValueError):
        raise VaultError(f"truncated or malformed vault: the {what} is not hexadecimal of even length") from None


def parse(data: str | bytes) -> Envelope:
    """The parts of vault text; ``VaultError`` for a header or body that is not Ansible's format."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    lines = data.strip().splitlines()
    if not lines or not lines[0].startswith(HEADER):
        raise VaultError("not vault-encrypted: the first line is not $ANSIBLE_VAULT;...")
    fields = [part.strip() for part in lines[0].split(b";")]
    if len(fields) < 3 or fields[0] != HEADER:
        raise VaultError("malformed vault header: expected $ANSIBLE_VAULT;1.1;AES256 or $ANSIBLE_VAULT;1.2;AES256;LABEL")
    version, cipher = fields[1].decode("ascii", "replace"), fields[2].decode("ascii", "replace")
    if version not in ("1.1", "1.2"):
        raise VaultError(f"unsupported vault format version {version!r} (expected 1.1 or 1.2)")
    if cipher != CIPHER:
        raise VaultError(f"unsupported vault cipher {cipher!r} (expected AES256)")
    vault_id = fields[3].decode("utf-8", "replace") if len(fields) > 3 and fields[3] else None
    body = b"".join(line.strip() for line in lines[1:])
    if not body:
        raise VaultError("truncated vault: a header and no encrypted body")
    parts = _unhex(body, "body").split(b"\n", 2)
    if len(parts) != 3:
        raise VaultError("truncated or malformed vault: the body lacks its salt, HMAC or ciphertext")
    salt, mac, ciphertext = _unhex(parts[0], "salt"), _unhex(parts[1], "HMAC"), _unhex(parts[2], "ciphertext")
    if not salt or len(mac) != 32 or not ciphertext or len(ciphertext) % 16:
        raise VaultError("truncated or malformed vault: salt, HMAC or ciphertext of the wrong length")
    return Envelope(version, cipher, vault_id, salt, mac, ciphertext)


def envelope_text(body: bytes, vault_id: str | None = None) -> bytes:
    """Ansible's format_vaulttext_envelope: the header, the hex body at 80 columns, a final newline."""
    if vault_id and vault_id != DEFAULT_ID:
        header = b";".join([HEADER, b"1.2", CIPHER.encode(), vault_id.encode("utf-8")])
    else:
        header = b";".join([HEADER, b"1.1", CIPHER.encode()])
    return b"\n".join([header] + [body[i:i + 80] for i in range(0, len(body), 80)] + [b""])


class Keys:
    """Derived keys per (password, salt), shared by the threads of one run."""

    def __init__(self):
        self._keys: dict[tuple[bytes, bytes], tuple[bytes, bytes, bytes]] = {}
        self._lock = threading.Lock()

    def cached(self, password: bytes, salt: bytes) -> bool:
        return (password, salt) in self._keys

    def get(self, password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
        found = self._keys.get((password, salt))
        if found is None:
            derived = PBKDF2HMAC(algorithm=hashes.SHA256(), length=2 * KEY_LENGTH + IV_LENGTH, salt=salt,
                                 iterations=ITERATIONS).derive(password)  # releases the GIL: threads help
            found = (derived[:KEY_LENGTH], derived[KEY_LENGTH:2 * KEY_LENGTH], derived[2 * KEY_LENGTH:])
            with self._lock:
                self._keys[(password, salt)] = found
        return found


def encrypt_body(plaintext: bytes, password: bytes, keys: Keys, salt: bytes | None = None) -> bytes:
    """The hexlified body of a vault for ``plaintext`` (a fresh random salt unless given)."""
    salt = salt or os.urandom(SALT_LENGTH)
    key1, key2, iv = keys.get(password, salt)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key1), modes.CTR(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
    mac = HMAC(key2, hashes.SHA256())
    mac.update(ciphertext)
    return hexlify(b"\n".join([hexlify(salt), hexlify(mac.finalize()), hexlify(ciphertext)]))


def decrypt_envelope(envelope: Envelope, password: bytes, keys: Keys) -> bytes:
    """The plaintext; ``VaultError(HMAC_FAILED)`` when the password is wrong or a byte was changed."""
    key1, key2, iv = keys.get(password, envelope.salt)
    mac = HMAC(key2, hashes.SHA256())
    mac.update(envelope.ciphertext)
    try:
        mac.verify(envelope.hmac)
    except InvalidSignature:
        raise VaultError(HMAC_FAILED) from None
    decryptor = Cipher(algorithms.AES(key1), modes.CTR(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(decryptor.update(envelope.ciphertext) + decryptor.finalize()) + unpadder.finalize()
    except ValueError:
        raise VaultError("malformed vault: the HMAC matches but the padding is invalid") from None
