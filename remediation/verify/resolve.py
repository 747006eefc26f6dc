"""``--resolve NAME:ADDRESS`` (curl's semantics): connect to ADDRESS when a URL names NAME, while the
URL, the Host header, TLS SNI and the certificate check keep NAME. So a host is verified directly,
before (or without) DNS pointing at it, and the certificate is still checked for the name a browser
would use, never with verification off.

Written here because httpx has no resolver hook: each request for a mapped name is sent to the
address with ``extensions={"sni_hostname": NAME}`` (httpcore then hands NAME to ``ssl`` as
``server_hostname``: SNI and hostname check) and the Host header the client already set from the
URL. httpcore pools connections by the address it connects to, so every mapped name gets its own
``HTTPTransport``: a connection verified for one name is never reused for another name that
resolves to the same address. The TLS probe (tlsprobe.py) connects to ``connect_host(...)`` with
``server_hostname=NAME`` the same way.

Forms: ``NAME:ADDRESS`` (every port) or curl's ``NAME:PORT:ADDRESS`` (that port only); ADDRESS is
an IP address (IPv6 in brackets when a port is given) or a host name.
"""

from __future__ import annotations

import ipaddress
import re
import threading

import httpx

from ..runner import UsageError

NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                  r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
PORT_ADDRESS = re.compile(r"^([0-9]{1,5}):(.+)$")
EXAMPLE = "NAME:ADDRESS or NAME:PORT:ADDRESS, e.g. example.com:203.0.113.10"

Resolve = dict  # (name in lower case, port or None for every port) -> address


def _address(text: str) -> str | None:
    """An IP address (brackets dropped) or a host name, or None."""
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    return text.lower().rstrip(".") if bare == text and NAME.match(text) and not text.replace(".", "").isdigit() else None


def parse_one(value) -> tuple[tuple[str, int | None], str]:
    """One ``--resolve`` value -> ((name, port or None), address); a UsageError (one line) otherwise."""
    text = str(value if value is not None else "").strip()
    shown = repr(text)
    if not text:
        raise UsageError(f"--resolve: empty value (give {EXAMPLE})")
    if any(c.isspace() or ord(c) < 32 for c in text):
        raise UsageError(f"--resolve: {shown} holds a space or a control character (give {EXAMPLE})")
    name, colon, rest = text.partition(":")
    if not colon or not rest:
        raise UsageError(f"--resolve: {shown} has no address (give {EXAMPLE})")
    if not NAME.match(name):
        raise UsageError(f"--resolve: {shown}: {name!r} is not a host name")
    port = None
    address = _address(rest)
    if address is None:
        found = PORT_ADDRESS.match(rest)
        if found:
            port = int(found.group(1))
            if not 0 < port < 65536:
                raise UsageError(f"--resolve: {shown}: the port {found.group(1)} is not a number from 1 to 65535")
            address = _address(found.group(2))
    if address is None:
        raise UsageError(f"--resolve: {shown}: the address is not an IP address or a host name "
                         "(IPv6 in brackets when a port is given)")
    return (name.lower().rstrip("."), port), address


def parse(values) -> Resolve:
    """Every ``--resolve`` value; the same name (and port) given two different addresses is refused."""
    mapping: Resolve = {}
    for value in values or []:
        key, address = parse_one(value)
        if mapping.get(key, address) != address:
            where = f"{key[0]}:{key[1]}" if key[1] else key[0]
            raise UsageError(f"--resolve: {where} is given two addresses ({mapping[key]} and {address})")
        mapping[key] = address
    return mapping


def connect_host(resolve: Resolve | None, host: str, port: int) -> str:
    """Where a connection for ``host:port`` goes: the mapped address (the port's own first), else ``host``."""
    if not resolve or not host:
        return host
    name = host.lower().rstrip(".")
    return resolve.get((name, port)) or resolve.get((name, None)) or host


def shown(resolve: Resolve | None, host: str, port: int) -> str:
    """`` (connected to ADDRESS by --resolve)`` when the host is mapped, else empty: for the evidence."""
    address = connect_host(resolve, host, port)
    return f" (connected to {address} by --resolve)" if address != host else ""


class ResolvingTransport(httpx.BaseTransport):
    """httpx's own transport, sending requests for a mapped name to its address (one pool per name)."""

    def __init__(self, resolve: Resolve, context):
        self.resolve, self.context = resolve, context
        self.pools: dict[str | None, httpx.HTTPTransport] = {}
        self.lock = threading.Lock()

    def _pool(self, key: str | None) -> httpx.HTTPTransport:
        with self.lock:
            if key not in self.pools:
                self.pools[key] = httpx.HTTPTransport(verify=self.context, trust_env=False, http2=False)
            return self.pools[key]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        address = connect_host(self.resolve, url.host, port)
        if address == url.host:
            return self._pool(None).handle_request(request)
        # The Host header was set from the URL when the request was built; the new request keeps it.
        sent = httpx.Request(request.method, url.copy_with(host=address), headers=request.headers,
                             stream=request.stream, extensions={**request.extensions, "sni_hostname": url.host})
        return self._pool(url.host.lower()).handle_request(sent)

    def close(self) -> None:
        with self.lock:
            pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            pool.close()
