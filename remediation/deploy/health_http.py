"""The health URL, requested on the host itself (part of the health script, remediation/deploy/health.py).

The app server binds the host's loopback, so the request is made there, by the release's own
interpreter, which has only the project's requirements: hence the standard library's http.client,
not httpx. http.client rather than urllib because urllib follows redirects: a 301 to https (Django's
SECURE_SSL_REDIRECT) must be seen as the failure it is, not followed to a page that answers 200.

Only 200 is healthy. A 3xx, 4xx or 5xx, a refused connection and a timeout are failures named with
their status and reason; the request is tried ``attempts`` times, ``interval`` seconds apart, so
an app still booting gets a chance. At most ``BODY_LIMIT`` bytes of a body are read.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from urllib.parse import urlsplit

BODY_LIMIT = 65536


def proxy_header_of(setting) -> tuple[str, str] | None:
    """The request header (name, value) that Django's SECURE_PROXY_SSL_HEADER reads as https:
    ``("HTTP_X_FORWARDED_PROTO", "https")`` is sent as ``X-Forwarded-Proto: https``."""
    if not isinstance(setting, (list, tuple)) or len(setting) != 2:
        return None
    meta, value = setting
    if not isinstance(meta, str) or not isinstance(value, str) or not meta.startswith("HTTP_"):
        return None
    return "-".join(part.capitalize() for part in meta[len("HTTP_"):].split("_")), value


def default_host(allowed_hosts, url: str) -> str:
    """The first concrete ALLOWED_HOSTS entry (``.example.com`` allows ``example.com``); the
    URL's own host when there is none (``*``, or empty, which DEBUG lets through for localhost)."""
    for entry in allowed_hosts or ():
        if isinstance(entry, str) and entry.strip() and "*" not in entry:
            return entry.strip().lstrip(".")
    return urlsplit(url).netloc.rpartition("@")[2]


def request_once(parts, path: str, headers: dict, timeout: float, proxied: bool) -> tuple[bool, str, str]:
    """One GET: (ok, what happened, a hint or ""). Redirects are reported, never followed."""
    try:
        port = parts.port
    except ValueError:
        return False, "the URL's port is not a number", ""
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    deadline = time.monotonic() + timeout
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        remaining = BODY_LIMIT
        while remaining > 0 and time.monotonic() < deadline:  # bounded: a status is all we need
            chunk = response.read1(min(remaining, 16384))
            if not chunk:
                break
            remaining -= len(chunk)
        status, reason = response.status, response.reason
        location = response.getheader("Location")
    except ConnectionRefusedError:
        return False, "connection refused", ""
    except (socket.timeout, TimeoutError):
        return False, f"no response within {timeout:g}s", ""
    except ssl.SSLError as exc:
        return False, f"TLS error: {exc.reason or exc}", ""
    except (OSError, http.client.HTTPException) as exc:
        return False, f"{type(exc).__name__}: {str(exc) or 'no detail'}", ""
    finally:
        connection.close()
    what = f"HTTP {status} {reason}".rstrip()
    if status == 200:
        return True, what, ""
    hint = ""
    if 300 <= status < 400:
        hint = f"redirect to {location} not followed" if location else "redirect not followed"
        if location and location.startswith("https:") and parts.scheme == "http" and not proxied:
            hint += " (SECURE_SSL_REDIRECT: send the SECURE_PROXY_SSL_HEADER header)"
    elif status == 400:
        hint = f"is Host {headers.get('Host')!r} in ALLOWED_HOSTS?"
    return False, what, hint


def http_check(url: str, host_header: str, proxy_header, timeout: float, attempts: int, interval: float) -> tuple[str, str]:
    """GET ``url`` with ``Host: host_header`` (and the proxy's https header) until it answers 200."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "failed", f"{url!r} is not an http(s) URL"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": host_header, "User-Agent": "remediation-health/1", "Accept": "*/*", "Connection": "close"}
    if proxy_header:
        headers[proxy_header[0]] = proxy_header[1]
    sent = f"Host: {host_header}" + (f", {proxy_header[0]}: {proxy_header[1]}" if proxy_header else "")
    attempts = max(1, int(attempts))
    for attempt in range(1, attempts + 1):
        ok, what, hint = request_once(parts, path, headers, timeout, bool(proxy_header))
        if ok:
            tries = f", attempt {attempt} of {attempts}" if attempt > 1 else ""
            return "ok", f"{what} from {url} ({sent}{tries})"
        if attempt < attempts:
            time.sleep(interval)
    tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
    return "failed", f"{what} from {url} ({sent}; {tries})" + (f": {hint}" if hint else "")
