"""``Set-Cookie`` lines as names and attributes; the value is handed back only to be scrubbed.

By hand because the standard library's parsers do not fit: ``http.cookies.SimpleCookie`` drops a
whole header on one character it dislikes (a browser keeps the cookie) and keeps the value in its
objects, ``http.cookiejar`` needs a request object and keeps HttpOnly and SameSite only as private
rest-attributes. The grammar we need (RFC 6265 section 5.2) is a split on ``;`` then ``=``.
"""

from __future__ import annotations

# What Django sets by default (global_settings): the session cookie is HttpOnly and SameSite=Lax;
# the CSRF cookie is SameSite=Lax but NOT HttpOnly, because the page's JavaScript may read it to
# send X-CSRFToken (Django's docs: HttpOnly on it "offers no practical protection").
SESSION_COOKIE_NAME = "sessionid"
CSRF_COOKIE_NAME = "csrftoken"


def parse_set_cookie(line: str) -> tuple[dict | None, str]:
    """({name, secure, httponly, samesite, path, domain, max_age}, value) for one Set-Cookie line."""
    parts = str(line).split(";")
    name, sep, value = parts[0].partition("=")
    name = name.strip()
    if not sep or not name:
        return None, ""
    cookie = {"name": name, "secure": False, "httponly": False, "samesite": None, "path": None, "domain": None,
              "max_age": None}
    for attribute in parts[1:]:
        key, _, arg = attribute.partition("=")
        key, arg = key.strip().lower(), arg.strip()
        if key == "secure":
            cookie["secure"] = True
        elif key == "httponly":
            cookie["httponly"] = True
        elif key == "samesite":
            cookie["samesite"] = arg.capitalize() or None
        elif key in ("path", "domain"):
            cookie[key] = arg
        elif key == "max-age":
            cookie["max_age"] = arg
    return cookie, value.strip().strip('"')


def attributes(cookie: dict) -> str:
    """``csrftoken (Secure, SameSite=Lax, not HttpOnly)``: what a finding shows of a cookie."""
    shown = ["Secure" if cookie["secure"] else "not Secure", "HttpOnly" if cookie["httponly"] else "not HttpOnly",
             f"SameSite={cookie['samesite']}" if cookie["samesite"] else "no SameSite"]
    return f"{cookie['name']} ({', '.join(shown)})"


def is_session(cookie: dict, session_name: str = SESSION_COOKIE_NAME) -> bool:
    """The session cookie by its name (the settings' SESSION_COOKIE_NAME when the audit read it), or
    any cookie whose name says session (Observatory's rule too)."""
    name = cookie["name"].lower()
    return name == session_name.lower() or "session" in name or name in ("sid", "connect.sid")


def is_csrf(cookie: dict, csrf_name: str = CSRF_COOKIE_NAME) -> bool:
    name = cookie["name"].lower()
    return name == csrf_name.lower() or "csrf" in name or "xsrf" in name
