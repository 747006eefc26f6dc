"""An observation (observe.py) as the report's rows and the live area's findings, one rule per component.

Each rule returns ``(row, findings)``: the row is ``(component, state, detail, finding ids)`` as
every area's builder returns (remediation/report/rows), the findings say which response showed
them (method, URL, status, header and value). A fact that was never gathered (the page did not
answer, a check skipped by its flag) is ``unknown`` with the reason, never ``ok``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..checks.base import CRITICAL, HIGH, INFO, LOW, MANUAL, MEDIUM, finding_for
from ..report.rows.base import NOT_USED, OK, UNKNOWN, WARNING
from .cookies import attributes, is_csrf, is_session
from .headers import cache_lifetime, frame_rule, hsts_rule, plain_header_rules, referrer_rule

_finding = finding_for("live")
STAGING = {"live.unreachable", "live.certificate", "live.redirect_loop", "live.static_missing", "live.websocket",
           "live.health"}


def live(id: str, severity, title: str, detail: str):
    return _finding(id=id, severity=severity, title=title, detail=detail, fix=MANUAL,
                    applies_from="staging" if id in STAGING else "production")


def where(entry: dict) -> str:
    return f"{entry['method']} {entry['url']} answered {entry['status']}"


def reach_rule(obs):
    error = obs.get("error")
    if error and error["kind"] in ("dns", "refused", "timeout", "protocol"):
        return ("Reachable", UNKNOWN, error["message"], ("live.unreachable",)), [
            live("live.unreachable", CRITICAL, "The site does not answer", error["message"])]
    if error and error["kind"] == "loop":
        return ("Reachable", WARNING, error["message"], ("live.redirect_loop",)), [
            live("live.redirect_loop", HIGH, "Redirect loop", error["message"])]
    page = obs.get("page")
    if page is None:
        return ("Reachable", UNKNOWN, error["message"] if error else "no page", ()), []
    found = []
    if page.get("truncated"):
        found.append(live("live.large_response", INFO, "Response larger than what was read",
                          f"{where(page)}; only the first {page['bytes_read']} bytes were read"))
    via = f" (connected to {obs['connected_to']} by --resolve)" if obs.get("connected_to") else ""
    return ("Reachable", OK, where(page) + via, tuple(f.id for f in found)), found


def redirect_rule(obs):
    redirect = obs.get("redirect")
    if redirect is None:
        return ("HTTP to HTTPS", UNKNOWN, "not checked: the URL is https:// on a port other than 443; give the "
                                          "http:// URL too to check its redirect", ()), []
    hops, error = redirect["hops"], redirect["error"]
    if not hops:
        if error and error["kind"] == "refused":
            return ("HTTP to HTTPS", OK, f"{redirect['from']}: no HTTP listener (nothing served over HTTP)", ()), []
        return ("HTTP to HTTPS", UNKNOWN, error["message"] if error else "no answer", ()), []
    first = hops[0]
    source = urlsplit(redirect["from"]).hostname
    shown = f"GET {first['url']} answered {first['status']}"
    target = first.get("location")
    problem = None
    if not 300 <= first["status"] < 400 or not target:
        problem = f"{shown} without a redirect: the page is served over plain HTTP"
    elif not target.lower().startswith("https://"):
        problem = f"{shown} with Location: {target} (not https)"
    elif urlsplit(target).hostname != source:
        problem = f"{shown} with Location: {target}: another host first, so {source} never gets HSTS"
    if problem:
        return ("HTTP to HTTPS", WARNING, problem, ("live.https_redirect",)), [
            live("live.https_redirect", HIGH, "HTTP is not redirected to HTTPS on the same host", problem)]
    return ("HTTP to HTTPS", OK, f"{shown} with Location: {target} (one hop)", ()), []


def page_rules(obs):
    page = obs.get("page")
    https = bool(page) and page["url"].lower().startswith("https://")
    rules = (hsts_rule, plain_header_rules, referrer_rule, frame_rule)
    rows, found = [], []
    for rule in rules:
        if page is None:
            continue
        got_rows, got = rule(page, https, live)
        rows += got_rows
        found += got
    if page is None:
        rows.append(("Response headers", UNKNOWN, "no page was received", ()))
    return rows, found


def seen_cookies(obs) -> list[tuple[dict, dict]]:
    """(cookie, the response that set it) for every response fetched."""
    responses = list(obs.get("chain") or [])
    for key in ("static", "health", "not_found"):
        part = obs.get(key) or {}
        if key == "static":
            responses += [r for r in (part.get("page"), part.get("asset")) if r]
        elif part.get("status") is not None:
            responses.append(part)
    return [(cookie, response) for response in responses for cookie in response.get("cookies") or []]


def cookie_rule(obs, session_name="sessionid", csrf_name="csrftoken"):
    cookies = seen_cookies(obs)
    if not cookies:
        return [("Cookies", UNKNOWN, "no response set a cookie (the session cookie appears only after a login)",
                 ())], []
    insecure = [(c, r) for c, r in cookies if not c["secure"]]
    readable = [(c, r) for c, r in cookies if is_session(c, session_name) and not c["httponly"]]
    cross = [(c, r) for c, r in cookies if (is_session(c, session_name) or is_csrf(c, csrf_name))
             and (c["samesite"] or "None") == "None"]
    found = []
    for cid, severity, title, group in (
            ("live.cookie_secure", HIGH, "Cookie sent without Secure", insecure),
            ("live.cookie_httponly", MEDIUM, "Session cookie readable by scripts (no HttpOnly)", readable),
            ("live.cookie_samesite", LOW, "Session or CSRF cookie without SameSite (sent on cross-site requests)", cross)):
        if group:
            found.append(live(cid, severity, title, "; ".join(f"{where(r)} with Set-Cookie: {attributes(c)}"
                                                              for c, r in _unique(group))))
    names = ", ".join(attributes(c) for c, _ in _unique(cookies))
    session_seen = any(is_session(c, session_name) for c, _ in cookies)
    note = "" if session_seen else "; no session cookie was set (it appears only after a login)"
    return [("Cookies", OK, names + note, tuple(f.id for f in found))], found


def _unique(pairs):
    seen, out = set(), []
    for cookie, response in pairs:
        key = (cookie["name"], cookie["secure"], cookie["httponly"], cookie["samesite"])
        if key not in seen:
            seen.add(key)
            out.append((cookie, response))
    return out


def tls_rule(obs):
    """The handshake with the URL's host, and a certificate refused on a later hop of its redirects
    (the probe checks only the URL's own host: a hop to another name is checked by the request itself)."""
    rows, found = handshake_rule(obs)
    error, tls = obs.get("error") or {}, obs.get("tls") or {}
    if error.get("kind") == "tls" and tls.get("verified"):
        message = f"following the redirects: {error['message']}"
        hop = live("live.certificate", CRITICAL, "Certificate not valid for this name", message)
        rows.append(("Certificate (redirect)", WARNING, message, (hop.id,)))
        found.append(hop)
    return rows, found


def handshake_rule(obs):
    tls = obs.get("tls")
    if tls is None:
        return [("TLS", UNKNOWN, "not checked: no https:// page", ())], []
    cert = tls.get("certificate") or {}
    where_ = f"TLS handshake with {tls['host']}:{tls['port']}" + (f" at {tls['address']}" if tls.get("address") else "")
    shown = (f"subject {cert['subject']}, issuer {cert['issuer']}, names {', '.join(cert['names']) or 'none'}, "
             f"valid until {cert['not_after']}" if cert else "no certificate read")
    rows, found = [], []
    kind = tls.get("error_kind")
    if kind == "connect":
        return [("TLS", UNKNOWN, f"{where_}: {tls['error']}", ())], []
    if kind == "handshake":
        spoken = f"; it speaks only {tls['version']}" if tls.get("version") else ""
        message = f"{where_}: {tls['error']}{spoken}"
        found.append(live("live.tls_protocol", HIGH, "No TLS 1.2 or newer", message))
        return [("TLS protocol", WARNING, message, ("live.tls_protocol",))], found
    version = tls.get("version") or "unknown"
    if version in ("SSLv3", "TLSv1", "TLSv1.1"):
        found.append(live("live.tls_protocol", HIGH, "TLS older than 1.2", f"{where_} negotiated {version}"))
    elif tls.get("legacy"):
        found.append(live("live.tls_protocol", MEDIUM, "TLS below 1.2 still accepted",
                          f"{where_} negotiated {version} but also accepts {tls['legacy']}"))
    rows.append(("TLS protocol", OK, f"{version} ({tls.get('cipher')})" + (f"; also accepts {tls['legacy']}"
                                                                            if tls.get("legacy") else ""),
                 tuple(f.id for f in found)))
    if kind == "certificate":
        reason = tls["error"]
        if cert.get("self_signed"):
            reason += " (self-signed)"
        finding = live("live.certificate", CRITICAL, "Certificate not valid for this name",
                       f"{where_}: {reason}; {shown}")
        found.append(finding)
        rows.append(("Certificate", WARNING, f"{reason}; {shown}", (finding.id,)))
        return rows, found
    days = cert.get("days_left")
    expiry = []
    if days is not None and days < 30:
        expiry = [live("live.certificate_expiry", HIGH if days < 14 else MEDIUM, "Certificate expires soon",
                       f"{where_}: the certificate expires in {days} days ({cert['not_after']})")]
    found += expiry
    rows.append(("Certificate", OK, f"valid for {tls['host']}; {shown} ({days} days left)",
                 tuple(f.id for f in expiry)))
    return rows, found


def static_rule(obs):
    static = obs.get("static")
    if static is None:
        return [("Static files", NOT_USED if obs.get("page") else UNKNOWN,
                 "not checked (--admin-path none)" if obs.get("page") else "no page", ())], []
    page = static.get("page")
    if page is None:
        return [("Static files", UNKNOWN, static.get("error") or "the admin page did not answer", ())], []
    if page["status"] != 200 or not static.get("stylesheet"):
        why = "no stylesheet link in it" if page["status"] == 200 else "no admin login page there"
        return [("Static files", UNKNOWN, f"{where(page)}: {why}; the static files were not checked", ())], []
    asset = static.get("asset")
    if asset is None:
        message = f"GET {static['stylesheet']} (the admin's stylesheet): {static.get('error')}"
        return [("Static files", WARNING, message, ("live.static_missing",))], [
            live("live.static_missing", HIGH, "Static files not served", message)]
    if asset["status"] != 200:
        message = f"{where(asset)} (the stylesheet {where(page)} links to): static files are not served"
        return [("Static files", WARNING, message, ("live.static_missing",))], [
            live("live.static_missing", HIGH, "Static files not served", message)]
    seconds, shown = cache_lifetime(asset["headers"])
    detail = f"{where(asset)} with {shown}"
    if seconds < 7 * 86400:
        return [("Static files", WARNING, detail, ("live.static_cache",))], [
            live("live.static_cache", LOW, "Static files without a long cache lifetime",
                 f"{detail}: less than 7 days")]
    return [("Static files", OK, detail, ())], []


def websocket_rule(obs):
    ws = obs.get("websocket")
    if ws is None:
        page = obs.get("page")
        return [("WebSocket", NOT_USED if page else UNKNOWN, "not checked (--ws-path none)" if page else "no page",
                 ())], []
    if ws.get("status") is None:
        message = f"WebSocket handshake at {ws['url']}: {ws['error']}"
        return [("WebSocket", WARNING, message, ("live.websocket",))], [
            live("live.websocket", HIGH, "WebSocket handshake failed", message)]
    shown = f"GET {ws['url']} with Upgrade: websocket answered {ws['status']}"
    if ws["status"] == 101 and ws["accept_ok"]:
        return [("WebSocket", OK, f"{shown} (handshake complete)", ())], []
    if ws["status"] in (401, 403):
        message = (f"{shown}: the upgrade reached a server that refused it (authentication or origin); "
                   "pass --ws-path to a route that accepts an anonymous handshake to prove it")
        return [("WebSocket", WARNING, message, ("live.websocket_refused",))], [
            live("live.websocket_refused", INFO, "WebSocket handshake refused", message)]
    why = "a wrong Sec-WebSocket-Accept" if ws["status"] == 101 else "not 101 Switching Protocols"
    hint = " (no route: pass --ws-path, or --ws-path none for a site without WebSocket)" if ws["status"] == 404 else ""
    message = f"{shown}: {why}{hint}"
    return [("WebSocket", WARNING, message, ("live.websocket",))], [
        live("live.websocket", HIGH, "WebSocket handshake failed", message)]


def health_rule(obs):
    health = obs.get("health")
    if health is None:
        return [("Health", NOT_USED, "not checked (no --health-path)", ())], []
    if health.get("status") == 200:
        return [("Health", OK, where(health), ())], []
    message = where(health) if health.get("status") is not None else f"GET {health['url']}: {health['error']}"
    return [("Health", WARNING, message, ("live.health",))], [live("live.health", HIGH, "Health URL not healthy",
                                                                   f"{message}; only 200 is healthy")]


def debug_rule(obs):
    probe = obs.get("not_found")
    if probe is None or probe.get("status") is None:
        return [("DEBUG (404 page)", UNKNOWN, (probe or {}).get("error") or "not checked", ())], []
    if probe["debug"]:
        message = f"{where(probe)} with Django's debug page (\"{probe['markers'][0]}\"): DEBUG is True"
        return [("DEBUG (404 page)", WARNING, message, ("live.debug",))], [
            live("live.debug", CRITICAL, "DEBUG is on in production", message)]
    return [("DEBUG (404 page)", OK, f"{where(probe)} without Django's debug output", ())], []


def evaluate(obs: dict, session_name: str = "sessionid", csrf_name: str = "csrftoken") -> tuple[list, list]:
    """(row specs, findings) of one URL's observation."""
    row, found = reach_rule(obs)
    rows = [row]
    if obs.get("error") and obs["error"]["kind"] in ("dns", "refused", "timeout", "protocol") and not obs.get("page"):
        return rows, found
    parts = [redirect_rule(obs)]
    rows.append(parts[0][0])
    found += parts[0][1]
    for rule in (page_rules, lambda o: cookie_rule(o, session_name, csrf_name), tls_rule, static_rule,
                 websocket_rule, health_rule, debug_rule):
        got_rows, got = rule(obs)
        rows += got_rows
        found += got
    return rows, found
