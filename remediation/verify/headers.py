"""The page's security headers, read as browsers read them (Mozilla Observatory's rules where it has one).

Each rule takes the page's summary (``http.Response.to_dict()``), whether it came over HTTPS, and
the live-finding factory, and returns ``(rows, findings)``.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from ..checks.base import HIGH, LOW, MEDIUM
from ..report.rows.base import OK, UNKNOWN, WARNING

YEAR = 31536000
SAFE_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
LEAKY_REFERRER = {"unsafe-url", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin"}
VERSION = re.compile(r"\d+\.\d+|/\s*\d")


def showing(page: dict, name: str) -> str:
    value = page["headers"].get(name)
    title = "-".join(part.capitalize() for part in name.split("-"))
    head = f"{page['method']} {page['url']} answered {page['status']}"
    return f"{head} with {title}: {value}" if value is not None else f"{head} without {title}"


def hsts_max_age(value: str) -> tuple[int | None, set[str]]:
    """(max-age, the other directives) of the first Strict-Transport-Security value; None when invalid."""
    first = value.split(",")[0]
    age, flags = None, set()
    for part in first.split(";"):
        key, _, arg = part.strip().partition("=")
        key = key.strip().lower()
        if key == "max-age":
            try:
                age = int(arg.strip().strip('"'))
            except ValueError:
                return None, flags
        elif key:
            flags.add(key)
    return age, flags


def hsts_rule(page, https, live):
    if not https:
        return [("HSTS", UNKNOWN, f"{page['url']} is not https: browsers ignore HSTS over HTTP", ())], []
    value = page["headers"].get("strict-transport-security")
    shown = showing(page, "strict-transport-security")
    if value is None:
        return [("HSTS", WARNING, shown, ("live.hsts",))], [live("live.hsts", HIGH, "No HSTS header", shown)]
    age, flags = hsts_max_age(value)
    if age is None or age < YEAR:
        why = "max-age is not a number" if age is None else f"max-age {age} is under one year ({YEAR})"
        return [("HSTS", WARNING, f"{shown}: {why}", ("live.hsts",))], [
            live("live.hsts", HIGH, "HSTS max-age under one year", f"{shown}: {why}")]
    found = []
    if "includesubdomains" not in flags:
        found.append(live("live.hsts_subdomains", LOW, "HSTS does not cover subdomains", f"{shown}: no includeSubDomains"))
    if "preload" not in flags:
        found.append(live("live.hsts_preload", LOW, "HSTS preload not requested", f"{shown}: no preload"))
    return [("HSTS", OK, shown, tuple(f.id for f in found))], found


def plain_header_rules(page, https, live):
    rows, found = [], []
    nosniff = page["headers"].get("x-content-type-options")
    shown = showing(page, "x-content-type-options")
    if (nosniff or "").strip().lower() != "nosniff":
        found.append(live("live.nosniff", MEDIUM, "X-Content-Type-Options is not nosniff", shown))
    rows.append(("X-Content-Type-Options", OK, shown, ("live.nosniff",)))
    csp = page["headers"].get("content-security-policy")
    shown = showing(page, "content-security-policy")
    if not csp:
        report_only = page["headers"].get("content-security-policy-report-only")
        note = " (only Content-Security-Policy-Report-Only, which enforces nothing)" if report_only else ""
        found.append(live("live.csp", LOW, "No Content-Security-Policy", shown + note))
    rows.append(("Content-Security-Policy", OK, shown, ("live.csp",)))
    server, powered = page["headers"].get("server"), page["headers"].get("x-powered-by")
    leaks = []
    if server and VERSION.search(server):
        leaks.append(showing(page, "server"))
    if powered:
        leaks.append(showing(page, "x-powered-by"))
    if leaks:
        found.append(live("live.server_version", LOW, "Server software version disclosed", "; ".join(leaks)))
    rows.append(("Server header", OK, "; ".join(leaks) or showing(page, "server"), ("live.server_version",)))
    return rows, found


def referrer_rule(page, https, live):
    value = page["headers"].get("referrer-policy")
    shown = showing(page, "referrer-policy")
    # Several policies (comma-separated): browsers use the last one they know.
    known = [p.strip().lower() for p in (value or "").split(",") if p.strip().lower() in SAFE_REFERRER | LEAKY_REFERRER]
    policy = known[-1] if known else None
    if policy in SAFE_REFERRER:
        return [("Referrer-Policy", OK, shown, ())], []
    if policy in LEAKY_REFERRER:
        finding = live("live.referrer_policy", MEDIUM, "Referrer-Policy leaks URLs to other sites",
                       f"{shown}: {policy} sends the path (or origin) to other sites")
    else:
        finding = live("live.referrer_policy", LOW, "No Referrer-Policy", f"{shown} (browsers default to "
                                                                           "strict-origin-when-cross-origin)")
    return [("Referrer-Policy", WARNING, shown, (finding.id,))], [finding]


def frame_ancestors(csp: str | None) -> str | None:
    for directive in (csp or "").split(";"):
        name, _, value = directive.strip().partition(" ")
        if name.lower() == "frame-ancestors":
            return value.strip()
    return None


def frame_rule(page, https, live):
    xfo = (page["headers"].get("x-frame-options") or "").strip().upper()
    ancestors = frame_ancestors(page["headers"].get("content-security-policy"))
    if ancestors is not None and "*" not in ancestors.split():
        return [("Framing", OK, f"{showing(page, 'content-security-policy')} (frame-ancestors {ancestors})", ())], []
    if xfo in ("DENY", "SAMEORIGIN"):
        return [("Framing", OK, showing(page, "x-frame-options"), ())], []
    shown = showing(page, "x-frame-options")
    detail = f"{shown}" + (f" (X-Frame-Options {xfo!r} is not DENY or SAMEORIGIN)" if xfo else "") + \
        ", and no CSP frame-ancestors: any site may frame the pages (clickjacking)"
    return [("Framing", WARNING, detail, ("live.frame_options",))], [
        live("live.frame_options", MEDIUM, "Pages may be framed by any site", detail)]


def cache_lifetime(headers: dict) -> tuple[int, str]:
    """(seconds a browser may keep the response, the header that says so)."""
    control = headers.get("cache-control")
    if control is not None:
        directives = {}
        for part in control.split(","):
            key, _, value = part.strip().partition("=")
            directives[key.strip().lower()] = value.strip().strip('"')
        if "no-store" in directives or "no-cache" in directives:
            return 0, f"Cache-Control: {control}"
        try:
            return int(directives.get("max-age", "")), f"Cache-Control: {control}"
        except ValueError:
            pass
    expires = headers.get("expires")
    if expires and headers.get("date"):
        try:
            seconds = int((parsedate_to_datetime(expires) - parsedate_to_datetime(headers["date"])).total_seconds())
            return seconds, f"Expires: {expires}"
        except (TypeError, ValueError):
            pass
    return 0, "no Cache-Control max-age or Expires"
