"""Vaulted inventory content: inline ``!vault`` values and vault-encrypted vars files.

With the run's ``VaultSecrets`` every vaulted value is decrypted while the inventory loads (the
keys of a whole file derived at once, in threads) and every plaintext joins ``secrets``, the scrub
list: a decrypted value is a secret wherever it shows up, whatever its variable is called. The
values of a vault-encrypted vars file all count as secrets. Without secrets, inline values stay
``Vaulted`` (an error names the flags only when one is needed) and encrypted files are skipped
with a warning naming them.
"""

from __future__ import annotations

from remediation.masking import plausible_secret

from .model import InventoryError, Vaulted
from .raw import _Raw, _Vars

NEED_SECRETS = "give --vault-password-file, --vault-id or --ask-vault-pass"


def _walk(value, found: list) -> None:
    if isinstance(value, Vaulted):
        found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, found)


class Decrypter:
    """Decrypts the vaulted parts of one inventory with the run's secrets (or leaves them, without)."""

    def __init__(self, vault=None):
        self.vault = vault if vault else None  # an empty VaultSecrets decrypts nothing either
        self.secrets: set[str] = set()

    def _open(self, value: Vaulted, where: str) -> str:
        from remediation.vault import VaultError

        try:
            text = self.vault.decrypt(value.ciphertext)
        except VaultError as exc:
            raise InventoryError(f"{where}: {exc}") from None
        self._remember(text)
        return text

    def _remember(self, *values) -> None:
        found = {str(v) for v in values if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
        found = {v for v in found if plausible_secret(v)}
        self.secrets |= found
        self.vault.remember(*found)

    def _replace(self, value, where: str):
        if isinstance(value, Vaulted):
            return self._open(value, where)
        if isinstance(value, dict):
            for key, item in value.items():
                value[key] = self._replace(item, where)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = self._replace(item, where)
        return value

    def layer(self, variables: _Vars) -> None:
        """Every ``!vault`` value of one set of variables, decrypted in place."""
        if self.vault is None:
            return
        found: list = []
        _walk(list(variables.values.values()), found)
        if not found:
            return
        self.vault.prepare([item.ciphertext for item in found])
        for key, value in variables.values.items():
            variables.values[key] = self._replace(value, variables.where.get(key, ""))

    def raw(self, raw: _Raw) -> None:
        """Every inline value of the inventory file itself, all keys derived in one batch."""
        if self.vault is None:
            return
        layers = [group.vars for group in raw.groups.values()] + [host.vars for host in raw.hosts.values()]
        found: list = []
        for variables in layers:
            _walk(list(variables.values.values()), found)
        self.vault.prepare([item.ciphertext for item in found])
        for variables in layers:
            self.layer(variables)

    def file_text(self, text: str, shown: str, warnings_: list[str]) -> str | None:
        """A vault-encrypted vars file's plaintext; None (and a warning) without secrets."""
        if self.vault is None:
            warnings_.append(f"{shown}: encrypted with ansible-vault, skipped: {NEED_SECRETS} to read it")
            return None
        from remediation.vault import VaultError

        try:
            return self.vault.decrypt(text)
        except VaultError as exc:
            raise InventoryError(f"{shown}: {exc}") from None

    def file_values(self, variables: _Vars) -> None:
        """The values of a vault-encrypted file: all secrets."""
        found: list = []

        def leaves(value):
            if isinstance(value, dict):
                for item in value.values():
                    leaves(item)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    leaves(item)
            else:
                found.append(value)

        leaves(list(variables.values.values()))
        self._remember(*found)
