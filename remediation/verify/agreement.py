"""Where the settings say one thing and the wire another: one finding naming both.

``check --deploy`` trusts the settings; a browser sees what the proxy and the app server send. The
classic gap: SecurityMiddleware sends HSTS and redirects to HTTPS only when ``request.is_secure()``,
which behind a proxy is true only when ``SECURE_PROXY_SSL_HEADER`` names the header the proxy sets
(``X-Forwarded-Proto: https``). Each finding names the setting with its value, the response that
contradicts it, and the likely cause. Only settings the audit read count (fail closed): a setting
the probe did not record gives no finding.
"""

from __future__ import annotations

from ..checks.base import CRITICAL, HIGH, MANUAL, MEDIUM, finding_for
from .cookies import CSRF_COOKIE_NAME, SESSION_COOKIE_NAME
from .headers import hsts_max_age, showing
from .rules import seen_cookies, where

_finding = finding_for("live")


def agree(id: str, severity, title: str, detail: str):
    return _finding(id=id, severity=severity, title=title, detail=detail, fix=MANUAL, applies_from="production")


def proxy_hint(settings: dict) -> str:
    header = settings.get("SECURE_PROXY_SSL_HEADER")
    if not header:
        return ("SECURE_PROXY_SSL_HEADER is not set, so behind a proxy Django sees every request as HTTP "
                "(SecurityMiddleware sends HSTS and honours SECURE_SSL_REDIRECT only on secure requests)")
    name = str(header[0]).removeprefix("HTTP_").replace("_", "-").title() if isinstance(header, list) else str(header)
    value = header[1] if isinstance(header, list) and len(header) > 1 else "https"
    return (f"SECURE_PROXY_SSL_HEADER is {tuple(header) if isinstance(header, list) else header}: the proxy must "
            f"send {name}: {value} to the app (or it strips the header from the response)")


def middleware(settings: dict, name: str) -> bool:
    return any(str(m).endswith(name) for m in settings.get("MIDDLEWARE") or [])


def hsts(settings, obs):
    seconds = settings.get("SECURE_HSTS_SECONDS")
    page = obs.get("page")
    if not seconds or not page or not page["url"].lower().startswith("https://"):
        return []
    value = page["headers"].get("strict-transport-security")
    if value is None:
        return [agree("agreement.hsts", HIGH, "HSTS set in the settings, absent on the wire",
                      f"SECURE_HSTS_SECONDS = {seconds} but {showing(page, 'strict-transport-security')}; "
                      f"{proxy_hint(settings)}")]
    age, _ = hsts_max_age(value)
    if age is not None and age < int(seconds):
        return [agree("agreement.hsts", HIGH, "HSTS on the wire shorter than the settings'",
                      f"SECURE_HSTS_SECONDS = {seconds} but {showing(page, 'strict-transport-security')}: "
                      "the proxy sends its own header")]
    return []


def ssl_redirect(settings, obs):
    if settings.get("SECURE_SSL_REDIRECT") is not True:
        return []
    error = obs.get("error") or {}
    if error.get("kind") == "loop":
        return [agree("agreement.ssl_redirect", HIGH, "SECURE_SSL_REDIRECT loops behind the proxy",
                      f"SECURE_SSL_REDIRECT = True and {error['message']}: the app redirects HTTPS requests to "
                      f"HTTPS again; {proxy_hint(settings)}")]
    redirect = obs.get("redirect") or {}
    hops = redirect.get("hops") or []
    if hops and not 300 <= hops[0]["status"] < 400:
        return [agree("agreement.ssl_redirect", HIGH, "SECURE_SSL_REDIRECT set, HTTP served on the wire",
                      f"SECURE_SSL_REDIRECT = True but GET {hops[0]['url']} answered {hops[0]['status']} "
                      "without a redirect: the proxy answers HTTP itself, or the app behind it is not this one")]
    return []


def cookies(settings, obs):
    found = []
    for flag, name_setting, default, cid in (
            ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_NAME", SESSION_COOKIE_NAME, "agreement.session_cookie_secure"),
            ("CSRF_COOKIE_SECURE", "CSRF_COOKIE_NAME", CSRF_COOKIE_NAME, "agreement.csrf_cookie_secure")):
        if settings.get(flag) is not True:
            continue
        name = settings.get(name_setting) or default
        bad = [(c, r) for c, r in seen_cookies(obs) if c["name"] == name and not c["secure"]]
        if bad:
            cookie, response = bad[0]
            found.append(agree(cid, HIGH, f"{flag} set, cookie without Secure on the wire",
                               f"{flag} = True but {where(response)} with Set-Cookie: {name} without Secure: "
                               "the proxy rewrites the cookie, or the app runs with other settings"))
    return found


def headers(settings, obs):
    page = obs.get("page")
    if not page:
        return []
    found = []
    if (middleware(settings, "SecurityMiddleware") and settings.get("SECURE_CONTENT_TYPE_NOSNIFF", True)
            and (page["headers"].get("x-content-type-options") or "").lower() != "nosniff"):
        found.append(agree("agreement.nosniff", MEDIUM, "nosniff set in the settings, absent on the wire",
                           f"SecurityMiddleware with SECURE_CONTENT_TYPE_NOSNIFF = True but "
                           f"{showing(page, 'x-content-type-options')}: the page is not Django's (served by the "
                           "proxy: add the header there) or the proxy strips it"))
    wanted = settings.get("X_FRAME_OPTIONS")
    if middleware(settings, "XFrameOptionsMiddleware") and wanted:
        got = (page["headers"].get("x-frame-options") or "").upper()
        if got != str(wanted).upper():
            found.append(agree("agreement.frame_options", MEDIUM, "X-Frame-Options differs from the settings",
                               f"X_FRAME_OPTIONS = {wanted!r} with XFrameOptionsMiddleware but "
                               f"{showing(page, 'x-frame-options')}"))
    return found


def debug(settings, obs):
    probe = obs.get("not_found") or {}
    if settings.get("DEBUG") is False and probe.get("debug"):
        return [agree("agreement.debug", CRITICAL, "DEBUG off in the settings, on on the wire",
                      f"the audited settings have DEBUG = False but {where(probe)} with Django's debug page: the "
                      "server runs with another env or settings module than the one audited")]
    return []


def static(settings, static_facts, obs):
    part = obs.get("static") or {}
    asset = part.get("asset")
    collected = static_facts.get("exists") and not static_facts.get("missing")
    if not collected or not part.get("stylesheet") or (asset and asset["status"] == 200):
        return []
    shown = where(asset) if asset else f"GET {part['stylesheet']}: {part.get('error')}"
    return [agree("agreement.static", HIGH, "Static files collected, not served",
                  f"STATIC_ROOT {settings.get('STATIC_ROOT')} holds the collected files (STATIC_URL "
                  f"{settings.get('STATIC_URL')}) but {shown}: no location of the proxy serves STATIC_ROOT")]


def agreement_findings(probe: dict, observations: list[dict]) -> list:
    """The agreement findings of every observed URL against the audited settings (none when the
    settings did not import: nothing to compare)."""
    settings = (probe or {}).get("settings") or {}
    if not settings or (probe or {}).get("error"):
        return []
    static_facts = (probe or {}).get("static") or {}
    found = []
    for obs in observations:
        for rule in (hsts, ssl_redirect, cookies, headers, debug):
            found += rule(settings, obs)
        found += static(settings, static_facts, obs)
    return found
