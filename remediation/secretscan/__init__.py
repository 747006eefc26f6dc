"""The committed-secret scan (issue #11 part 2): secrets tracked in git or left in its history.

``scan(transport, root, live)`` returns the facts the checks in remediation/checks/git_secrets.py
read; ``live_secrets(env)`` names the env's live secrets for it. ``REMEDIATION_SECRET_SCAN=0``
turns the scan off (the benchmark's baseline); ``REMEDIATION_SECRET_SCAN_COMMITS`` bounds the history.
"""

from __future__ import annotations

import os

from ..masking import is_secret_name, plausible_secret, url_secrets
from .scan import scan

ENABLED_ENV = "REMEDIATION_SECRET_SCAN"


def enabled() -> bool:
    return os.environ.get(ENABLED_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def setting_label(name: str, in_url: bool) -> str:
    """What a leaked value is, for the reader: "the live SECRET_KEY", "the database password (DATABASE_URL)"."""
    upper = name.upper()
    if in_url:
        what = "the database password" if "DATABASE" in upper or upper.startswith(("DB_", "POSTGRES")) else "the password"
        return f"{what} in {name}"
    if upper.endswith("SECRET_KEY") and upper in ("SECRET_KEY", "DJANGO_SECRET_KEY"):
        return "the live SECRET_KEY"
    return f"the live {name}"


def live_secrets(environ: dict) -> dict[str, str]:
    """{value: label} of every plausible secret in an env (masking's rules), URL passwords included."""
    found: dict[str, str] = {}
    for name, value in sorted(environ.items()):
        if not isinstance(value, str) or not value:
            continue
        if "@" in value and "://" in value:
            for secret in url_secrets(value):
                if plausible_secret(secret):
                    found.setdefault(secret, setting_label(name, True))
        if is_secret_name(name) and plausible_secret(value):
            found.setdefault(value, setting_label(name, False))
    return found


__all__ = ["scan", "live_secrets", "enabled"]
