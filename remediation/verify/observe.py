"""What one URL shows a browser: the redirect from HTTP, the page and its headers and cookies, the
TLS handshake, and the admin's stylesheet, the WebSocket handshake, the health URL and a 404 page.

The result is a JSON-able observation (facts, no verdict): ``rules.py`` and ``agreement.py`` turn
it into findings, ``rows.py`` into the report's rows. After the page is fetched the other requests
run at once, each in its own thread with its own bounded request, so a URL costs about its
slowest request, not their sum.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..masking import mask_url
from . import tlsprobe
from .http import FetchError, PAGE_LIMIT, client, fetch
from .resolve import connect_host

MAX_HOPS = 10
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B85"  # RFC 6455 section 1.3
# Django's technical 404 page (django/views/templates/technical_404.html), shown only when DEBUG is True.
DEBUG_MARKERS = ("You’re seeing this error because you have <code>DEBUG = True</code>",
                 "You're seeing this error because you have <code>DEBUG = True</code>",
                 "Using the URLconf defined in", "Django tried these URL patterns")


class StylesheetFinder(HTMLParser):
    """The first ``<link rel="stylesheet" href=...>`` of a page (the admin's base.css)."""

    def __init__(self):
        super().__init__()
        self.href = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if self.href is None and tag == "link" and "stylesheet" in (values.get("rel") or "").lower().split():
            self.href = values.get("href")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def follow(http, url: str, timeout: float, secrets: set) -> tuple[list, dict | None]:
    """GET hop by hop: (each response's summary, the error that stopped it or None). A URL seen
    twice, or more than MAX_HOPS hops, is a loop."""
    chain, seen = [], set()
    while True:
        if url in seen or len(chain) > MAX_HOPS:
            return chain, {"kind": "loop", "message": f"{mask_url(chain[0]['url'])}: redirect loop after "
                                                      f"{len(chain)} hops (back to {mask_url(url)})"}
        seen.add(url)
        try:
            response = fetch(http, url, timeout, PAGE_LIMIT)
        except FetchError as exc:
            return chain, {"kind": exc.kind, "message": str(exc)}
        secrets |= response.secrets
        entry = response.to_dict()
        entry["body"] = response.body
        chain.append(entry)
        location = response.header("location")
        if not (300 <= response.status < 400 and location):
            return chain, None
        url = urljoin(url, location)


def _page_summary(entry: dict | None) -> dict | None:
    if entry is None:
        return None
    return {k: v for k, v in entry.items() if k != "body"}


def redirect_check(http, url: str, timeout: float, secrets: set) -> dict:
    """The HTTP side: the first answer on http:// must send the browser to https:// on the same host."""
    chain, error = follow(http, url, timeout, secrets)
    hops = [{"url": e["url"], "status": e["status"], "location": e["headers"].get("location")} for e in chain]
    return {"from": mask_url(url), "hops": hops, "error": error}


def sub_requests(http, base: str, options, secrets: set) -> dict:
    """The admin stylesheet, WebSocket, health and 404 requests, in parallel threads."""
    results: dict = {}
    timeout = options.timeout

    def static():
        page_url = urljoin(base, options.admin_path)
        try:
            page = fetch(http, page_url, timeout, PAGE_LIMIT)
        except FetchError as exc:
            results["static"] = {"page": None, "error": str(exc)}
            return
        secrets.update(page.secrets)
        finder = StylesheetFinder()
        finder.feed(page.body.decode("utf-8", "replace"))
        found = {"page": page.to_dict(), "stylesheet": None, "asset": None, "error": None}
        results["static"] = found
        if page.status != 200 or not finder.href:
            return
        found["stylesheet"] = urljoin(page_url, finder.href)
        try:
            asset = fetch(http, found["stylesheet"], timeout, 0)
            secrets.update(asset.secrets)
            found["asset"] = asset.to_dict()
        except FetchError as exc:
            found["error"] = str(exc)

    def websocket():
        ws_url = urljoin(base, options.ws_path)
        key = base64.b64encode(os.urandom(16)).decode()
        expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": key, "Origin": base}
        try:
            response = fetch(http, ws_url, timeout, 0, headers=headers)
        except FetchError as exc:
            results["websocket"] = {"url": mask_url(ws_url), "status": None, "error": str(exc), "accept_ok": False}
            return
        secrets.update(response.secrets)
        results["websocket"] = {**response.to_dict(), "error": None,
                                "accept_ok": response.header("sec-websocket-accept") == expected}

    def health():
        health_url = urljoin(base, options.health_path)
        try:
            response = fetch(http, health_url, timeout, 65536)
            secrets.update(response.secrets)
            results["health"] = {**response.to_dict(), "error": None}
        except FetchError as exc:
            results["health"] = {"url": mask_url(health_url), "status": None, "error": str(exc)}

    def not_found():
        missing = urljoin(base, f"/remediation-verify-{os.urandom(6).hex()}/")
        try:
            response = fetch(http, missing, timeout, PAGE_LIMIT)
        except FetchError as exc:
            results["not_found"] = {"url": mask_url(missing), "status": None, "error": str(exc), "debug": None}
            return
        secrets.update(response.secrets)
        text = response.body.decode("utf-8", "replace")
        markers = [m for m in DEBUG_MARKERS if m in text]
        results["not_found"] = {**response.to_dict(), "error": None, "debug": bool(markers), "markers": markers}

    jobs = [not_found]
    if options.admin_path:
        jobs.append(static)
    if options.ws_path:
        jobs.append(websocket)
    if options.health_path:
        jobs.append(health)
    run_parallel(jobs)
    return results


def run_parallel(jobs) -> None:
    threads = [threading.Thread(target=job, daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def observe(url: str, options) -> tuple[dict, set]:
    """Everything ``url`` shows, as a JSON-able dict, and the cookie values seen (to scrub)."""
    secrets: set = set()
    parts = urlsplit(url)
    found = {"url": mask_url(url), "error": None, "redirect": None, "page": None, "chain": [], "tls": None,
             "static": None, "websocket": None, "health": None, "not_found": None}
    resolve = options.resolve
    if resolve:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = connect_host(resolve, parts.hostname, port)
        if address != parts.hostname:
            found["connected_to"] = address  # --resolve: shown with the page's evidence
    with client(options.context, options.timeout, resolve) as http:
        if parts.scheme == "http":
            found["redirect"] = redirect_check(http, url, options.timeout, secrets)
            hops, error = found["redirect"]["hops"], found["redirect"]["error"]
            if error and not hops:
                found["error"] = error
                return found, secrets
            target = hops[0]["location"] if hops and 300 <= hops[0]["status"] < 400 else None
            https_url = urljoin(url, target) if target and target.lower().startswith("https://") else None
        else:
            https_url = url
            if parts.port in (None, 443):  # the browser's first visit: http:// on port 80
                host = parts.hostname
                http_url = urlunsplit(("http", f"[{host}]" if ":" in host else host, "/", "", ""))
                found["redirect"] = redirect_check(http, http_url, options.timeout, secrets)
        page_url = https_url or url
        chain, error = follow(http, page_url, options.timeout, secrets)
        found["chain"] = [_page_summary(e) for e in chain]
        if error:
            found["error"] = error
        last = chain[-1] if chain and not error else None
        found["page"] = _page_summary(last)
        final = last["url"] if last else page_url
        final_parts = urlsplit(final)
        jobs = []
        if final_parts.scheme == "https":
            def tls():
                port = final_parts.port or 443
                found["tls"] = tlsprobe.inspect(final_parts.hostname, port, options.context, options.timeout,
                                                connect_host(resolve, final_parts.hostname, port))
            jobs.append(tls)
        if last is not None:
            jobs.append(lambda: found.update(sub_requests(http, origin_of(final), options, secrets)))
        run_parallel(jobs)
    return found, secrets
