"""Secret masking, shared by the toolkit and the probe (which is streamed with this module's source).

Standard library only: it runs inside the target project's interpreter as part of the probe.

Written by hand because no library does these three things together:

- names: a value is secret by its variable's name (``*_PASSWORD``, ``*_PWD``, ``*_PASS``,
  ``*PASSWD*``, ``*_TOKEN``, ``*_KEY``, ``DSN``, ...), but only when the value itself could be a
  secret: ``False``, ``0``, an empty string or a port number under a name such as
  ``USE_PRIVATE_NETWORK`` are shown as they are and never scrubbed from other text;
- URLs, parsed leniently: the user info is everything between ``://`` and the last ``@`` before
  the host, so a password written unencoded with ``#``, ``/`` or ``@`` is still found; a token
  in the user part (DSNs, git remotes with a token) is a secret too, and so is the user part of
  an scp-style remote (``token@host:path``);
- scrubbing in every encoding (as written, percent-decoded, percent-encoded, JSON-, Python- and
  shell-quoted), in time linear in the text and the number of secrets: a secret is looked for
  only when every 4-character piece of it occurs in the text (one set of the text's 4-grams).
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus, unquote

MASK = "****"
SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|PASSWD|_PASS$|^PASS$|_PWD$|^PWD_|TOKEN|API_?KEY|_KEY$|PRIVATE|CREDENTIAL|DSN", re.I
)
# Values that are never secret, whatever their variable is called.
PLAIN_LITERALS = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none", "null", "nil", "enabled", "disabled", "t", "f", "y", "n"}
)
MIN_SCRUB = 4  # shorter values would swallow ordinary words and numbers
GRAM = 4


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name or ""))


def plausible_secret(value) -> bool:
    """Could this value be a secret? Never an empty string, a boolean or null word, or a short number."""
    if not isinstance(value, str) or len(value) < MIN_SCRUB:
        return False
    if len(value) > 16:  # longer than any plain literal or short number (cheap: most values end here)
        return bool(value.strip())
    text = value.strip()
    if len(text) < MIN_SCRUB or text.lower() in PLAIN_LITERALS:
        return False
    return not SHORT_NUMBER.fullmatch(text)  # ports, counts, timeouts


SHORT_NUMBER = re.compile(r"[+-]?\d{1,5}(\.\d+)?")


# --- URLs -------------------------------------------------------------------------------------

URL_START = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def split_userinfo(value: str) -> tuple[str, str | None, str | None, str] | None:
    """``(scheme://, user, password, rest after @)`` for a URL with user info, leniently; else None.

    The user info runs from ``://`` to the last ``@`` before the host: a password may hold ``#``,
    ``/``, ``?`` or ``@`` unencoded. An ``@`` that only appears after a ``/`` in the user part is
    a path's, not user info (``https://host/a@b``).
    """
    if not isinstance(value, str):
        return None
    match = URL_START.match(value)
    if not match:
        return None
    body = value[match.end():]
    line_end = len(body)
    for stop in ("\n", "\r", " ", "\t"):
        found = body.find(stop)
        if found >= 0:
            line_end = min(line_end, found)
    at = body.rfind("@", 0, line_end)
    if at < 0:
        return None
    userinfo = body[:at]
    user, sep, password = userinfo.partition(":")
    if "/" in user or "?" in user or "#" in user:
        return None
    return match.group(0), user, password if sep else None, body[at + 1:]


def looks_like_token(user: str) -> bool:
    """A user part that is a credential (a DSN's key, a git token), not a login name."""
    return len(user) >= 16 or (len(user) >= 10 and bool(re.search(r"\d", user)) and bool(re.search(r"[A-Za-z]", user)))


def url_password(value: str) -> str | None:
    """The password inside a URL such as postgres://user:pw@host/db (percent-decoded), if any."""
    parts = split_userinfo(value)
    if not parts or not parts[2]:
        return None
    return unquote(parts[2])


def url_secrets(value: str) -> set[str]:
    """Every secret inside a URL-like value: the password (as written and decoded), a token user."""
    found: set[str] = set()
    parts = split_userinfo(value)
    if parts:
        _, user, password, _ = parts
        if password:
            found |= {password, unquote(password)}
        elif user and looks_like_token(unquote(user)):
            found |= {user, unquote(user)}
    scp = SCP_REMOTE.match(value) if isinstance(value, str) else None
    if scp and looks_like_token(scp.group(1)):
        found.add(scp.group(1))
    return {s for s in found if s}


def mask_url(value: str) -> str:
    """The URL with its password (or a token user) replaced by ****, everything else kept for the reader."""
    if not isinstance(value, str):
        return value
    parts = split_userinfo(value)
    if parts is None:
        return value
    scheme, user, password, rest = parts
    if password is not None:
        return f"{scheme}{user}:{MASK}@{rest}"
    if looks_like_token(unquote(user)):
        return f"{scheme}{MASK}@{rest}"
    return value


SCP_REMOTE = re.compile(r"^([^@/:\s]+)@([^/:\s]+):(?!//)(.*)$")


def strip_userinfo(url: str) -> str:
    """A remote URL without any user info: tokens hide in the user part as often as in the password.
    Works for ``scheme://user:pw@host/path`` and for scp-style ``user@host:path``."""
    if not isinstance(url, str):
        return url
    parts = split_userinfo(url)
    if parts is not None:
        return parts[0] + parts[3]
    scp = SCP_REMOTE.match(url)
    if scp:
        return f"{scp.group(2)}:{scp.group(3)}"
    return url


# --- values by name ------------------------------------------------------------------------------


def safe_value(name: str, value):
    """What may be reported of a named value: secrets become set/unset, URLs lose their secrets.

    A secret-named variable whose value cannot be a secret (``False``, ``0``, empty) is shown as
    it is: masking it would tell the reader nothing and hide an ordinary setting."""
    if is_secret_name(name) and not (isinstance(value, bool) or value is None):
        if isinstance(value, (str, int, float)) and not plausible_secret(str(value)):
            return value
        return bool(value)
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, (list, tuple)):
        return [safe_value(name, v) for v in value]
    return value


def secret_values(environ) -> set[str]:
    """Every value in an environment that must never be printed (only plausible secrets)."""
    found = set()
    for key, value in environ.items():
        if not value or not isinstance(value, str):
            continue
        if is_secret_name(key) and plausible_secret(value):
            found.add(value)
        if "@" in value:
            found |= url_secrets(value)
    return {s for s in found if plausible_secret(s)}


# --- scrubbing ----------------------------------------------------------------------------------


PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.~-]*")  # no encoding changes these


def encodings(secret: str) -> set[str]:
    """The forms a secret takes in text: as written, percent-decoded and -encoded, JSON-, Python-
    and shell-quoted (only the forms that differ from the others)."""
    if PLAIN_TEXT.fullmatch(secret):
        return {secret} if len(secret) >= MIN_SCRUB else set()
    forms = {secret, unquote(secret), quote(secret, safe=""), quote(secret), quote_plus(secret)}
    for form in list(forms):
        forms.add(json.dumps(form)[1:-1])
        forms.add(repr(form)[1:-1])
        if "'" in form:
            forms.add(form.replace("'", "'\"'\"'"))  # shlex.quote's way
    return {form for form in forms if len(form) >= MIN_SCRUB}


def text_grams(text: str) -> set[str]:
    """Every 4-character piece of the text (one pass; the set is small, pieces repeat)."""
    return set(map("".join, zip(text, text[1:], text[2:], text[3:])))


def may_occur(secret: str, grams: set[str]) -> bool:
    """False when some 4-character piece of ``secret`` is absent from the text: then it cannot occur."""
    last = len(secret) - GRAM
    for start in range(0, last + 1, GRAM):
        if secret[start:start + GRAM] not in grams:
            return False
    return secret[last:] in grams


def scrub(text: str, secrets) -> str:
    """Replace every known secret value, in every encoding, in ``text`` with ****."""
    if not text:
        return text
    candidates = set()
    for secret in secrets:
        if isinstance(secret, str) and plausible_secret(secret):
            candidates |= encodings(secret)
    if not candidates:
        return text
    grams = text_grams(text)
    for form in sorted((c for c in candidates if may_occur(c, grams)), key=len, reverse=True):
        text = text.replace(form, MASK)
    return text
