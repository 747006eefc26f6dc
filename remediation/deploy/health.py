"""Health checks after each batch of a deploy (issue 9, item 9): is the new release really serving?

Six checks, all run ON THE HOST in one process of the release's own interpreter: the app server
binds the host's loopback, and a remote host needs nothing but that interpreter. The script
(remediation/deploy/health_host.py and health_http.py, joined with masking, the probe's common
helpers and its supervisor, as remediation/probe/__init__.py joins the probe) travels on stdin
through ``transport.run_script``; so does its config, env values included, so nothing sensitive
shows in a process list or stays on disk. The probe's supervisor bounds the whole run: at the time
limit it kills the worker's process tree and says in which check it was.

- ``http``: GET the health URL with a Host header that ALLOWED_HOSTS accepts and the proxy's https
  header (SECURE_PROXY_SSL_HEADER); only 200 is ok; retried; redirects not followed;
- ``django_checks``: the system checks (``manage.py check``) under the release's code and env;
- ``database``: ``SELECT 1`` through every connection; ``cache``: set/get/delete on the default
  cache; ``channel_layer``: a message sent to a random channel comes back (skipped without
  CHANNEL_LAYERS); ``celery``: a worker of this host answers ``inspect ping`` (skipped without an app).

Fail closed: a check the script never reached is ``unknown``, never ``ok``; only ``ok`` and
``skipped`` count as healthy. Every detail is one line, scrubbed of the env's secrets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from ..masking import scrub, secret_values
from ..probe import strip_relative_imports
from ..transport import TransportError
from .health_host import CHECK_ORDER, HEALTH_MARKER

HERE = Path(__file__).resolve().parent
# Dependency order: a part may use only the parts before it; the last holds the ``__main__`` guard.
PARTS = (
    HERE.parent / "masking.py",
    HERE.parent / "probe" / "common.py",
    HERE.parent / "probe" / "supervise.py",
    HERE / "health_http.py",
    HERE / "health_host.py",
)
CHECK_NAMES = CHECK_ORDER
STATUSES = ("ok", "failed", "skipped", "unknown")
HEALTHY = ("ok", "skipped")
BACKSTOP = 10.0  # our side waits this much longer than the host's own limit (interpreter start-up)
DETAIL_LIMIT = 500


@dataclass
class Check:
    name: str  # one of CHECK_NAMES
    status: str  # one of STATUSES
    detail: str  # one line
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def source() -> str:
    """The whole health script as one standalone file."""
    parts = [f"# --- {path.name} ---\n{strip_relative_imports(path.read_text(encoding='utf-8'))}" for path in PARTS]
    return "from __future__ import annotations\n" + "\n".join(parts)


def default_time_limit(timeout: float, attempts: int, interval: float) -> float:
    """Room for Django's start-up and the other checks, plus every HTTP attempt timing out."""
    return 60.0 + max(1, attempts) * (timeout + interval) + 4 * timeout


def check(transport, *, python: str, manage_dir: str, env: dict, url: str, host_header: str | None = None,
          https_proxy_header: tuple[str, str] | None = None, timeout: float = 5, attempts: int = 5,
          interval: float = 1, celery_app: str | None = None, expect_worker: bool = False,
          settings: str | None = None, time_limit: float | None = None) -> list[Check]:
    """Run every check on the host behind ``transport``; one ``Check`` per name in CHECK_NAMES.

    ``python``: the release's interpreter; ``manage_dir``: the release's manage.py folder;
    ``env``: the production env values (shared/.env). ``host_header`` None: the first concrete
    ALLOWED_HOSTS entry; ``https_proxy_header`` None: from SECURE_PROXY_SSL_HEADER, ``()``: none
    sent. ``settings``: the settings module (default: the env's, else manage.py's).
    ``time_limit``: the whole script's (default: ``default_time_limit``)."""
    limit = float(time_limit or default_time_limit(timeout, attempts, interval))
    script = source()
    config = {
        "manage_dir": manage_dir, "env": {str(k): str(v) for k, v in (env or {}).items()}, "url": url,
        "host_header": host_header, "timeout": float(timeout), "attempts": int(attempts),
        "interval": float(interval), "celery_app": celery_app, "expect_worker": bool(expect_worker),
        "proxy_header": None if https_proxy_header is None else list(https_proxy_header),
        "settings": settings, "probe_timeout": limit, "source": script,
    }
    secrets = secret_values(config["env"])
    try:
        document = transport.run_script(python, script, config, HEALTH_MARKER, timeout=limit + BACKSTOP)
    except TransportError as exc:
        return everything("unknown", f"the health script did not run: {exc}", secrets)
    except ValueError as exc:  # the marker was there but not a JSON document after it
        return everything("unknown", f"the health script's answer was not readable: {exc}", secrets)
    return from_document(document, limit, secrets)


def line(text, secrets) -> str:
    """One line, at most DETAIL_LIMIT characters, without the env's secrets."""
    flat = " ".join(str(text).split())
    flat = scrub(flat, secrets)
    return flat if len(flat) <= DETAIL_LIMIT else flat[:DETAIL_LIMIT - 3] + "..."


def everything(status: str, detail: str, secrets) -> list[Check]:
    return [Check(name, status, line(detail, secrets)) for name in CHECK_NAMES]


def from_document(document: dict, limit: float, secrets) -> list[Check]:
    """The checks the script reported; when it was killed or ended early, the check it was in
    failed and every other one unknown (its result, if it had one, died with the script)."""
    rows = document.get("checks") if isinstance(document, dict) else None
    if isinstance(rows, list) and rows:
        found = {}
        for row in rows:
            if isinstance(row, dict) and row.get("name") in CHECK_NAMES:
                status = row.get("status") if row.get("status") in STATUSES else "unknown"
                found[row["name"]] = Check(row["name"], status, line(row.get("detail") or "", secrets),
                                           round(float(row.get("seconds") or 0), 3))
        return [found.get(name) or Check(name, "unknown", "the health script did not report it") for name in CHECK_NAMES]
    error = (document.get("error") if isinstance(document, dict) else None) or {}
    stage = error.get("stage") or "start"
    if error.get("kind") == "timeout":
        what = f"no answer within {limit:g}s (in {stage}); the health script was killed"
    else:
        what = (error.get("message") or "the health script gave no result").replace("the probe", "the health script")
    if stage == "settings":  # the release's settings did not load (in time): nothing of it can work
        return everything("failed", f"settings did not load: {what}", secrets)
    return [Check(name, "failed", line(what, secrets)) if name == stage
            else Check(name, "unknown", line(f"not known: {what}", secrets)) for name in CHECK_NAMES]


def summary(checks: list[Check]) -> tuple[bool, str]:
    """(healthy, the deploy's one line for the host): healthy when every check is ok or skipped."""
    if not checks:
        return False, "unhealthy: no check ran"
    bad = [c for c in checks if c.status not in HEALTHY]
    if bad:
        return False, "unhealthy: " + "; ".join(f"{c.name} {c.status}: {c.detail}" for c in bad)
    return True, "healthy: " + ", ".join(f"{c.name} {c.status}" for c in checks)
