"""Secret masking, shared by the toolkit and the probe (which is streamed with this module's source).

Standard library only: it runs inside the target project's interpreter as part of the probe.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "****"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|PASS$|TOKEN|API_KEY|_KEY$|PRIVATE|CREDENTIAL|DSN", re.I)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name or ""))


def url_password(value: str) -> str | None:
    """The password inside a URL such as postgres://user:pw@host/db, if any."""
    if not isinstance(value, str) or "://" not in value:
        return None
    try:
        password = urlsplit(value).password
    except ValueError:
        return None
    return unquote(password) if password else None


def mask_url(value: str) -> str:
    """The URL with its password replaced by ****, everything else kept for the reader."""
    if not isinstance(value, str) or "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        if parts.password is None:
            return value
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        netloc = f"{user}:{MASK}@{host}{port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return MASK


def safe_value(name: str, value):
    """What may be reported of a named value: secrets become set/unset, URLs lose passwords."""
    if is_secret_name(name):
        return bool(value)
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, (list, tuple)):
        return [safe_value(name, v) for v in value]
    return value


def scrub(text: str, secrets) -> str:
    """Replace every known secret value (raw and JSON-escaped) in ``text`` with ****."""
    for secret in sorted({s for s in secrets if isinstance(s, str) and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret:
            text = text.replace(escaped, MASK)
    return text


def secret_values(environ) -> set[str]:
    """Every value in an environment that must never be printed."""
    found = set()
    for key, value in environ.items():
        if not value:
            continue
        if is_secret_name(key):
            found.add(value)
        password = url_password(value)
        if password:
            found.add(password)
    return found
