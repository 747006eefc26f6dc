"""The run's vault passwords by vault id, read from Ansible's sources, and decryption with them.

Sources, in Ansible's order: ``ANSIBLE_VAULT_IDENTITY_LIST`` (comma-separated ``label@source``),
``--vault-id label@source`` (repeatable), ``--vault-password-file FILE`` (repeatable) and
``ANSIBLE_VAULT_PASSWORD_FILE`` as the ``default`` id, then ``--ask-vault-pass``. A source is a
file (its content, stripped), an executable (run, its stdout; a ``*-client`` script gets
``--vault-id LABEL``), or ``prompt``. Unlike Ansible, a source that fails is an error, not a warning.

Decrypting tries the password of the envelope's label first, then the others (Ansible's default).
Every plaintext decrypted lands in ``plaintexts``: the run's scrub list.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .format import DEFAULT_ID, HMAC_FAILED, Keys, VaultError, decrypt_envelope, encrypt_body, envelope_text, \
    is_vaulted, parse

NEED_SECRETS = "give --vault-password-file, --vault-id or --ask-vault-pass"
PROMPT_SOURCES = ("prompt", "prompt_ask_vault_pass")


def split_vault_id(value: str) -> tuple[str, str]:
    """``label@source`` -> (label, source); a bare source is the ``default`` id, as Ansible's."""
    if not value or not value.strip():
        raise VaultError("--vault-id: empty value (expected LABEL@SOURCE)")
    if ";" in value:
        raise VaultError(f"--vault-id: {value!r} is not a valid vault id: ';' is not allowed in vault ids")
    label, sep, source = value.partition("@")
    if not sep:
        return DEFAULT_ID, value
    if not source:
        raise VaultError(f"--vault-id: {value!r}: expected LABEL@SOURCE (SOURCE a file, a script or prompt)")
    return label or DEFAULT_ID, source  # "@prompt" is the default id, as Ansible's


def _prompt(label: str, source: str, new: bool, ask=getpass.getpass) -> bytes:
    if source == "prompt_ask_vault_pass":
        prompts = ["New Vault password: ", "Confirm New Vault password: "] if new else ["Vault password: "]
    else:
        prompts = ([f"New vault password ({label}): ", f"Confirm new vault password ({label}): "] if new
                   else [f"Vault password ({label}): "])
    answers = []
    for text in prompts:
        try:
            answer = ask(text)
        except EOFError:
            raise VaultError(f"no vault password entered for vault id {label!r} (end of input)") from None
        if not answer.strip():
            raise VaultError(f"empty vault password for vault id {label!r}")
        answers.append(answer.encode("utf-8").strip())
    if len(set(answers)) > 1:
        raise VaultError("the vault passwords entered do not match")
    return answers[0]


def _from_file(label: str, source: str, earlier: "VaultSecrets") -> bytes:
    path = Path(source).expanduser()
    if not path.exists():
        raise VaultError(f"vault password file {source} was not found")
    if path.is_dir():
        raise VaultError(f"vault password file {source} is a directory")
    if os.access(path, os.X_OK):
        command = [str(path)]
        if os.path.splitext(path.name)[0].endswith("-client"):
            command += ["--vault-id", label]
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
        except OSError as exc:
            raise VaultError(f"vault password script {source} could not run ({exc.strerror or exc}); if it is not "
                             "a script, remove its executable bit") from None
        if done.returncode == 2 and len(command) > 1:
            raise VaultError(f"vault password client script {source} has no secret for vault id {label!r}")
        if done.returncode != 0:
            raise VaultError(f"vault password script {source} exited with status {done.returncode}")
        password = done.stdout.strip(b"\r\n")
    else:
        try:
            password = path.read_bytes().strip()
        except OSError as exc:
            raise VaultError(f"vault password file {source}: {exc.strerror or 'cannot read'}") from None
        if is_vaulted(password):  # a password file may itself be vaulted with an earlier password
            password = earlier.decrypt_bytes(password, where=f"vault password file {source}")[0].strip(b"\r\n")
    if not password:
        raise VaultError(f"vault password file {source} is empty")
    return password


class VaultSecrets:
    """The run's vault passwords by vault id (in the order given) and every plaintext decrypted with them."""

    def __init__(self, secrets: list[tuple[str, bytes]] | None = None):
        self.secrets: list[tuple[str, bytes]] = list(secrets or [])
        self.plaintexts: set[str] = set()
        self.keys = Keys()
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, password_files=(), ask: bool = False, vault_ids=(), *, new: bool = False,
                     environ=None, ask_password=getpass.getpass) -> VaultSecrets:
        """Read every source now, as Ansible's CLI does (prompts included); ``new`` asks twice to confirm."""
        environ = os.environ if environ is None else environ
        ids = [item.strip() for item in environ.get("ANSIBLE_VAULT_IDENTITY_LIST", "").split(",") if item.strip()]
        ids += list(vault_ids or [])
        files = list(password_files or [])
        if environ.get("ANSIBLE_VAULT_PASSWORD_FILE"):
            files.append(environ["ANSIBLE_VAULT_PASSWORD_FILE"])
        for file in files:
            if not str(file).strip():
                raise VaultError("--vault-password-file: empty value")
        slugs = [split_vault_id(value) for value in ids] + [(DEFAULT_ID, str(file)) for file in files]
        if ask:
            slugs.append((DEFAULT_ID, "prompt_ask_vault_pass"))
        secrets = cls()
        for label, source in slugs:
            if source in PROMPT_SOURCES:
                password = _prompt(label, source, new, ask_password)
            else:
                password = _from_file(label, source, secrets)
            secrets.secrets.append((label, password))
        return secrets

    def __bool__(self) -> bool:
        return bool(self.secrets)

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(label for label, _ in self.secrets))

    @property
    def passwords(self) -> set[str]:
        """The passwords as text: never printed either."""
        return {password.decode("utf-8", "replace") for _, password in self.secrets}

    def _candidates(self, label: str | None) -> list[tuple[str, bytes]]:
        first = [item for item in self.secrets if item[0] == label]
        return first + [item for item in self.secrets if item[0] != label]

    def prepare(self, texts) -> None:
        """Derive the keys of many vaults at once, in threads (PBKDF2 releases the GIL): what makes a
        100-value inventory fast. Texts that do not parse are left for ``decrypt`` to report."""
        pending = {}
        for text in texts:
            try:
                envelope = parse(text)
            except VaultError:
                continue
            candidates = self._candidates(envelope.vault_id)
            if candidates and not self.keys.cached(candidates[0][1], envelope.salt):
                pending[(candidates[0][1], envelope.salt)] = None
        if len(pending) > 1:
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                list(pool.map(lambda pair: self.keys.get(*pair), pending))

    def decrypt_bytes(self, data: str | bytes, where: str = "") -> tuple[bytes, str]:
        """(plaintext, the vault id whose password worked); a one-line ``VaultError`` otherwise."""
        plaintext, label, _ = self.open(data, where)
        return plaintext, label

    def open(self, data: str | bytes, where: str = "") -> tuple[bytes, str, bytes]:
        """(plaintext, vault id, password) of the password that opened the vault (edit re-encrypts with it)."""
        prefix = f"{where}: " if where else ""
        try:
            envelope = parse(data)
        except VaultError as exc:
            raise VaultError(f"{prefix}{exc}") from None
        if not self.secrets:
            raise VaultError(f"{prefix}vault-encrypted and no vault password given: {NEED_SECRETS}")
        for label, password in self._candidates(envelope.vault_id):
            try:
                return decrypt_envelope(envelope, password, self.keys), label, password
            except VaultError as exc:
                if str(exc) != HMAC_FAILED:
                    raise VaultError(f"{prefix}{exc}") from None
        if envelope.vault_id and envelope.vault_id not in self.ids:
            raise VaultError(f"{prefix}{HMAC_FAILED}; its vault id {envelope.vault_id!r} is unknown (given: "
                             f"{', '.join(self.ids)}): give --vault-id {envelope.vault_id}@SOURCE")
        raise VaultError(f"{prefix}{HMAC_FAILED}")

    def decrypt(self, text: str | bytes, where: str = "") -> str:
        """The plaintext as text (vaulted values and files are UTF-8), added to the scrub list."""
        plaintext, _ = self.decrypt_bytes(text, where)
        try:
            value = plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise VaultError(f"{where + ': ' if where else ''}the decrypted value is not UTF-8 text") from None
        self.remember(value)
        return value

    def remember(self, *values: str) -> None:
        with self._lock:
            self.plaintexts.update(value for value in values if value)

    def secret_for(self, vault_id: str | None = None) -> tuple[str, bytes]:
        """The (label, password) to encrypt with: ``vault_id``'s, else the only one given."""
        if not self.secrets:
            raise VaultError(f"no vault password given to encrypt with: {NEED_SECRETS}")
        if vault_id:
            for label, password in self.secrets:
                if label == vault_id:
                    return label, password
            raise VaultError(f"unknown vault id {vault_id!r} (given: {', '.join(self.ids)})")
        if len(self.ids) > 1:
            raise VaultError(f"the vault ids {', '.join(self.ids)} are available to encrypt with: "
                             "choose one with --encrypt-vault-id")
        return self.secrets[0]

    def encrypt(self, plaintext: str | bytes, vault_id: str | None = None) -> bytes:
        """Vault text for ``plaintext``: 1.1, or 1.2 with the label when the id is not ``default``."""
        if isinstance(plaintext, str):
            plaintext = plaintext.encode("utf-8")
        if is_vaulted(plaintext):
            raise VaultError("the input is already vault-encrypted")
        label, password = self.secret_for(vault_id)
        return envelope_text(encrypt_body(plaintext, password, self.keys), label)


def encrypt_string(value: str, secrets: VaultSecrets, name: str | None = None, vault_id: str | None = None) -> str:
    """The ``!vault |`` YAML block exactly as ``ansible-vault encrypt_string`` prints it (10-space indent,
    ``name: `` first when named, a final newline)."""
    if value == "":
        raise VaultError("the value to encrypt is empty")
    text = secrets.encrypt(value, vault_id).decode("ascii")
    lines = [f"{name}: !vault |" if name else "!vault |"] + [" " * 10 + line for line in text.splitlines()]
    return "\n".join(lines) + "\n"
