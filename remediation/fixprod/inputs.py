"""Values only a person can supply: the --secrets file, then this process's environment, then a
prompt (hidden input) when a terminal is attached.

A vault-encrypted --secrets file is decrypted in memory with the run's vault secrets; each of its
values joins their scrub list (``VaultSecrets.plaintexts``) whatever its name."""

from __future__ import annotations

import getpass
import os
from pathlib import Path


from ..facts import parse_env_text
from ..masking import plausible_secret
from ..runner import UsageError


def _decrypted(path: Path, text: str, vault) -> str:
    from ..vault import NEED_SECRETS, VaultError

    if not vault:
        raise UsageError(f"--secrets: {path}: vault-encrypted: {NEED_SECRETS}")
    try:
        return vault.decrypt(text)
    except VaultError as exc:
        raise UsageError(f"--secrets: {path}: {exc}") from None


class Inputs:
    """Values only a person can supply: the secrets file, then the environment, then a prompt."""

    def __init__(self, secrets_file: str | None, prompt: bool, vault=None):
        self.values: dict[str, str] = {}
        self.asked: set[str] = set()
        self.prompt = prompt
        if secrets_file:
            path = Path(secrets_file).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--secrets: {path}: {exc.strerror or 'cannot read'}") from None
            vaulted = text.lstrip().startswith("$ANSIBLE_VAULT")
            if vaulted:
                text = _decrypted(path, text, vault)
            parsed = parse_env_text(path, text)
            if parsed.errors:
                raise UsageError(f"--secrets: {parsed.errors[0]}")
            self.values.update(parsed.values)
            if vaulted:
                vault.remember(*(value for value in parsed.values.values() if plausible_secret(value)))

    def given(self, key: str) -> str | None:
        """The value from the secrets file or the environment, without asking."""
        self.asked.add(key)
        return self.values.get(key) or os.environ.get(key) or None

    def unused(self) -> list[str]:
        """Keys of the secrets file that this run never asked for: reported, never written."""
        return [key for key in self.values if key not in self.asked]

    def get(self, key: str, default=None):
        value = self.given(key)
        if not value and self.prompt:
            value = getpass.getpass(f"{key} (empty to skip): ").strip()
            self.values[key] = value
        return value or default
