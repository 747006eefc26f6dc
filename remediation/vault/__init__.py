"""Ansible Vault, compatible both ways: what ansible-vault encrypts we decrypt and the reverse.

``VaultSecrets.from_options(password_files, ask, vault_ids)`` reads the run's passwords as Ansible's
CLI does; ``.decrypt(text)`` opens a vaulted value or file (every plaintext joins ``.plaintexts``,
the run's scrub list); ``encrypt_string`` prints a ``!vault |`` block as ``ansible-vault
encrypt_string`` does. ``remediation.vault.files`` holds the file verbs behind ``invoke vault``.
Errors are ``VaultError``: one line that never holds a password or a plaintext.
"""

from .format import HMAC_FAILED, VaultError, is_vaulted, parse
from .secrets import NEED_SECRETS, VaultSecrets, encrypt_string, split_vault_id

__all__ = ["HMAC_FAILED", "NEED_SECRETS", "VaultError", "VaultSecrets", "encrypt_string", "is_vaulted", "parse",
           "split_vault_id"]
