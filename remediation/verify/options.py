"""The command line of ``invoke verify`` (and ``audit --live``), checked before any request: one line
and exit status 2 for each mistake."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..masking import mask_url
from ..runner import UsageError
from .http import ssl_context
from .resolve import parse as parse_resolve

DEFAULT_TIMEOUT = 5.0
MAX_URLS = 256


@dataclass
class VerifyOptions:
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    ws_path: str | None = "/ws/"
    health_path: str | None = None
    admin_path: str | None = "/admin/login/"
    resolve: dict = field(default_factory=dict)  # (name, port or None) -> address: --resolve
    context: ssl.SSLContext = field(default=None, repr=False)


def check_url(value: str) -> str:
    shown = repr(mask_url(str(value)))
    if not isinstance(value, str) or not value.strip():
        raise UsageError("verify: empty URL (give http:// or https:// URLs)")
    if any(c.isspace() for c in value) or any(ord(c) < 32 for c in value):
        raise UsageError(f"verify: {shown} holds a space or a control character")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"verify: {shown} is not an http:// or https:// URL with a host")
    try:
        _ = parts.port  # raises for a port that is not a number or out of range
    except ValueError:
        raise UsageError(f"verify: {shown}: the port is not a number from 0 to 65535") from None
    if parts.username or parts.password:
        raise UsageError(f"verify: {shown}: a URL with credentials is not what a browser visits; leave them out")
    return value if parts.path else value + "/"


def path_option(flag: str, value):
    """A path on the site (``/ws/``), or None for ``none`` (the check is skipped, said in the report)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        raise UsageError(f"{flag}: empty value (give a path such as /ws/, or 'none' to skip the check)")
    if text.lower() == "none":
        return None
    if not text.startswith("/") or any(c.isspace() for c in text):
        raise UsageError(f"{flag}: {text!r} is not a path on the site (it starts with /)")
    return text


def verify_options(urls, ca_file=None, timeout=None, ws_path="/ws/", health_path=None,
                   admin_path="/admin/login/", resolve=None) -> tuple[list[str], VerifyOptions]:
    urls = list(urls or [])
    if not urls:
        raise UsageError("verify: give at least one URL (https://example.com/)")
    if len(urls) > MAX_URLS:
        raise UsageError(f"verify: {len(urls)} URLs; at most {MAX_URLS} in one run")
    checked = list(dict.fromkeys(check_url(u) for u in urls))
    mapping = parse_resolve(resolve)
    seconds = DEFAULT_TIMEOUT
    if timeout is not None:
        try:
            seconds = float(str(timeout).strip())
        except ValueError:
            raise UsageError(f"--timeout: {str(timeout)!r} is not a number of seconds") from None
        if not 0 < seconds <= 300:
            raise UsageError("--timeout: give a number of seconds above 0 (at most 300)")
    if ca_file is not None:
        path = Path(str(ca_file)).expanduser()
        if not str(ca_file).strip():
            raise UsageError("--ca-file: empty value (leave the flag out to use the system's trust store)")
        if not path.is_file():
            raise UsageError(f"--ca-file: {path}: no such file")
    try:
        context = ssl_context(str(Path(ca_file).expanduser()) if ca_file else None)
    except (ssl.SSLError, OSError) as exc:
        raise UsageError(f"--ca-file: {ca_file}: not a PEM certificate bundle ({getattr(exc, 'reason', None) or exc})") from None
    options = VerifyOptions(timeout=seconds, ca_file=ca_file, ws_path=path_option("--ws-path", ws_path),
                            health_path=path_option("--health-path", health_path),
                            admin_path=path_option("--admin-path", admin_path), resolve=mapping, context=context)
    return checked, options
