"""What the settings themselves demand of the production env: read from the error they raise.

Real settings validate the production env on import and raise (a required variable missing,
localhost left in CORS, ENVIRONMENT not matching DEBUG, a DATABASE_URL that is not PostgreSQL).
fix-prod probes its planned env; while the settings raise and the error names an environment
variable, this module says what to plan next: a value a person supplied (--secrets FILE, the
environment, a prompt), a value derived from --domain (a site URL as ``https://DOMAIN``, local
origins dropped from a list), or ``needs input`` with the variable and the settings ``file:line``.

No library reads a variable's name out of an arbitrary exception, hence the patterns below:
django-environ's and os.environ's own messages first, then an upper-case name in the message.
"""

from __future__ import annotations

import re

NAME = "settings_env"
REPAIRS = ()  # it repairs no finding of its own: it makes the planned env importable
FLAGS = {"DATABASE_URL": "--database-url"}  # variables a fix-prod flag also supplies
MAX_PROBES = 5  # planned-env probes per run: one per variable the settings name, bounded

ENV_NAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*"
NAMED = (
    re.compile(rf"^'({ENV_NAME})'$"),  # os.environ["X"] -> KeyError('X')
    re.compile(rf"Set the ({ENV_NAME}) environment variable"),  # django-environ
    re.compile(rf"\b({ENV_NAME}) (?:environment variable|env var|setting) (?:is )?(?:required|missing|not set|must)", re.I),
    re.compile(rf"(?:missing|required|set|unset)[^A-Za-z0-9]+(?:environment variable[s]? )?({ENV_NAME})\b"),
    re.compile(rf"\b({ENV_NAME}) (?:must|should|is required|is not set|is missing|cannot|contains|has|needs|may not)\b"),
)
NOT_NAMES = {"DEBUG_TOOLBAR", "URL", "URI", "HTTP", "HTTPS", "SQL", "API", "ID", "OK", "ERROR", "WARNING", "CORS", "CSRF",
             "SSL", "TLS", "HSTS", "JSON", "DB"}
SITE_URL = re.compile(r"^(?:[A-Z0-9]+_)*(?:FRONTEND|FRONT|SITE|BASE|PUBLIC|APP|WEB|WEBSITE|CLIENT|ROOT|SERVER|HOST|ORIGIN|"
                      r"DOMAIN|UI|PORTAL)_?(?:URL|URI|ORIGIN|ADDRESS)$")
DOMAIN_NAME = re.compile(r"^(?:[A-Z0-9]+_)*(?:SITE_)?DOMAIN(?:_NAME)?$")
LOCAL = re.compile(r"(?:^|//|\.)(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[?::1\]?)(?::\d+)?(?:/|$)", re.I)


def named_variable(error: dict, reads: dict | None = None) -> str | None:
    """The environment variable a settings error names, if any.

    ``reads`` (the variables the settings read, when the probe recorded them) breaks ties: a
    name the settings read is preferred to an upper-case word that only looks like one.
    """
    message = (error or {}).get("message") or ""
    candidates = []
    for pattern in NAMED:
        candidates += [m for m in pattern.findall(message) if m not in NOT_NAMES and len(m) >= 3]
    if not candidates:
        return None
    if reads:
        known = [c for c in candidates if c in reads]
        if known:
            return known[0]
    return candidates[0]


def is_local(value: str) -> bool:
    return bool(LOCAL.search(value.strip()))


def derive(name: str, current: str, domains: list[str]) -> tuple[str | None, str]:
    """(value, how) derivable for ``name`` without a person, or (None, why not)."""
    domain = domains[0] if domains else None
    items = [v.strip() for v in current.split(",") if v.strip()]
    if len(items) > 1 or (items and any(is_local(i) for i in items) and not SITE_URL.match(name)):
        kept = [i for i in items if not is_local(i)]
        if kept != items:
            if not kept and domain:
                kept = [f"https://{d}" if "://" in items[0] else d for d in domains]
            return ",".join(kept), "local entries dropped" + (" (the --domain origins instead)" if domain and not
                                                              [i for i in items if not is_local(i)] else "")
    if SITE_URL.match(name):
        if domain:
            return f"https://{domain}", "from --domain"
        return None, "derived from --domain: pass --domain"
    if DOMAIN_NAME.match(name):
        if domain:
            return domain, "from --domain"
        return None, "derived from --domain: pass --domain"
    return None, "only a person knows it"
