"""``masked``: what may be printed of a host, so that printing an inventory shows no secret."""

from __future__ import annotations

from remediation.masking import MASK, is_secret_name, mask_url, plausible_secret, scrub, url_secrets

from .model import Host, Vaulted


def masked(host: Host, hidden=()) -> dict:
    """What may be printed of a host: its settings and vars, secrets as ****.

    Variables with a secret-looking name (``*_password``, ``*_pwd``, ``*_token``,
    ``ansible_become_pass``, ...; not ``*_file``, which name files) are replaced whole unless the
    value cannot be a secret (false, 0, empty), URLs lose their password or token user, vault values
    are masked, and every secret value found is scrubbed from every other string. ``hidden``: values
    that are secrets whatever their name (decrypted vault values), masked whole and scrubbed.
    """
    hidden = {value for value in hidden if plausible_secret(value)}
    secrets: set[str] = set(hidden)

    def collect(value) -> None:
        if isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)
        elif value is not None and not isinstance(value, (bool, Vaulted)) and plausible_secret(str(value)):
            secrets.add(str(value))

    def walk(name: str, value):
        if isinstance(value, Vaulted) or (isinstance(value, (str, int, float)) and str(value) in hidden):
            return MASK
        if is_secret_name(name) and not name.lower().endswith("_file"):
            if value is None or isinstance(value, bool) or (isinstance(value, (str, int, float)) and not plausible_secret(str(value))):
                return value  # false, 0, "" or a port: nothing secret to hide, and hiding it would mislead
            collect(value)
            return MASK
        if isinstance(value, dict):
            return {str(key): walk(str(key), item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(name, item) for item in value]
        if isinstance(value, str):
            secrets.update(url_secrets(value))
            return mask_url(value)
        return value

    out = {
        "name": host.name,
        "address": host.address,
        "port": host.port,
        "user": host.user,
        "key_file": host.key_file,
        "local": host.local,
        "groups": list(host.groups),
        "vars": walk("vars", host.vars),
    }

    def clean(value):
        if isinstance(value, str):
            return scrub(value, secrets)
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return clean(out)
