"""One bounded HTTP request with httpx, summarised as what the checks need (never a cookie value).

Trust: the system's store through ``ssl.create_default_context()`` (OpenSSL's default paths, so
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` work), plus ``--ca-file`` when given. httpx's own default
would be certifi's bundle, which ignores both, hence our context. Proxy variables and ``.netrc``
are not used (``trust_env=False``): the verify talks to the site itself. ``--resolve`` sends the
requests for a name to a given address (resolve.py), the name kept for Host, SNI and the certificate.

Bounded: redirects are never followed here (the caller follows them hop by hop, to see each one),
the body is streamed and reading stops at ``limit`` bytes or at the deadline, whichever first, so a
response of gigabytes or a server that trickles costs at most that. Errors become a ``FetchError``
with one line and a kind (``dns``, ``refused``, ``timeout``, ``tls``, ``protocol``).
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field

import httpx

from ..masking import mask_url
from .cookies import parse_set_cookie
from .resolve import ResolvingTransport

PAGE_LIMIT = 1 << 20  # 1 MiB of a page is more than any check needs
USER_AGENT = "django-remediation-verify/1 (like a browser: checks what it receives)"
# The response headers the checks read; nothing else is kept (a custom header may carry a token).
KEPT = ("strict-transport-security", "x-content-type-options", "referrer-policy", "x-frame-options",
        "content-security-policy", "content-security-policy-report-only", "server", "x-powered-by", "cache-control",
        "expires", "location", "content-type", "upgrade", "connection", "sec-websocket-accept",
        "access-control-allow-origin", "access-control-allow-credentials", "cross-origin-resource-policy",
        "cross-origin-opener-policy", "permissions-policy", "date", "age")


class FetchError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Response:
    method: str
    url: str
    status: int
    headers: dict[str, str]  # lower-case name -> value (repeated headers joined with ", ")
    cookies: list[dict] = field(default_factory=list)  # names and attributes, never values
    body: bytes = b""
    truncated: bool = False
    secrets: set[str] = field(default_factory=set)  # the cookie values seen: scrubbed from every output

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def where(self) -> str:
        return f"{self.method} {self.url} answered {self.status}"

    def showing(self, name: str) -> str:
        """``GET URL answered 200 with Name: value`` (or ``without Name``): the evidence of a finding."""
        value = self.header(name)
        title = "-".join(part.capitalize() for part in name.split("-"))
        return f"{self.where()} with {title}: {value}" if value is not None else f"{self.where()} without {title}"

    def to_dict(self) -> dict:
        return {"method": self.method, "url": self.url, "status": self.status, "headers": self.headers,
                "cookies": self.cookies, "bytes_read": len(self.body), "truncated": self.truncated}


def ssl_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The browser's view: the system trust store (SSL_CERT_FILE honoured) and ``ca_file`` if given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def client(context: ssl.SSLContext, timeout: float, resolve: dict | None = None) -> httpx.Client:
    transport = ResolvingTransport(resolve, context) if resolve else None
    return httpx.Client(verify=context, timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}, http2=False,
                        transport=transport)


def describe_error(exc: BaseException, url: str, timeout: float) -> FetchError:
    """One line for what stopped a request; the kind drives the finding (unreachable, certificate)."""
    shown = mask_url(url)
    text = " ".join(str(exc).split())
    cause = exc.__cause__ or exc.__context__
    while cause is not None and not isinstance(cause, (ssl.SSLError, socket.gaierror, OSError)):
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return FetchError("timeout", f"{shown}: no answer within {timeout:g}s")
    if isinstance(cause, ssl.SSLCertVerificationError):
        return FetchError("tls", f"{shown}: certificate not accepted: {cause.verify_message or cause.reason}")
    if isinstance(cause, ssl.SSLError) or "SSL" in text or "TLS" in text:
        reason = getattr(cause, "reason", None) or text
        return FetchError("tls", f"{shown}: TLS handshake failed: {reason}")
    if isinstance(cause, socket.gaierror) or "Name or service not known" in text or "not known" in text:
        return FetchError("dns", f"{shown}: the host name does not resolve")
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in text:
        return FetchError("refused", f"{shown}: connection refused")
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError("protocol", f"{shown}: the server broke the HTTP protocol ({text or 'no detail'})")
    return FetchError("protocol", f"{shown}: {type(exc).__name__}: {text or 'no detail'}")


def fetch(http: httpx.Client, url: str, timeout: float, limit: int = PAGE_LIMIT, method: str = "GET",
          headers: dict | None = None) -> Response:
    """One request, the body read up to ``limit`` bytes and ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    try:
        with http.stream(method, url, headers=headers or {}) as response:
            body, truncated = bytearray(), False
            if limit:
                for chunk in response.iter_raw(65536):
                    body += chunk
                    if len(body) >= limit or time.monotonic() > deadline:
                        truncated = True
                        del body[limit:]
                        break
            raw = response.headers
            kept = {name: ", ".join(raw.get_list(name)) for name in KEPT if name in raw}
            if "location" in kept:
                kept["location"] = mask_url(kept["location"])
            cookies, secrets = [], set()
            for line in raw.get_list("set-cookie"):
                cookie, value = parse_set_cookie(line)
                if cookie:
                    cookies.append(cookie)
                    secrets.add(value)
            return Response(method, mask_url(str(response.url)), response.status_code, kept, cookies, bytes(body),
                            truncated, {s for s in secrets if s})
    except httpx.HTTPError as exc:
        raise describe_error(exc, url, timeout) from None
    except (OSError, ssl.SSLError) as exc:
        raise describe_error(exc, url, timeout) from None
