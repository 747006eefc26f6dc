"""The health script's checks, run on the host in the release's interpreter (standard library and
the project's own packages only): joined with masking, the probe's common helpers, its supervisor
and health_http into one script by remediation/deploy/health.py, and streamed over stdin.

The first process is the probe's supervisor (remediation/probe/supervise.py): it starts the worker
below with the env values in its process environment, and kills the worker's whole process tree
at the time limit. The worker imports the settings once (``django.setup()``), then runs each check
in turn, each failure one line; the project's own output is diverted so that the one JSON document
printed at the end is never polluted, and that document is scrubbed of every secret it knows.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
import uuid

from ..masking import is_secret_name, mask_url, scrub, secret_values
from ..probe.common import error_info, settings_module_from_manage
from ..probe.supervise import report_stage, supervise, worker_watchdog
from .health_http import default_host, http_check, proxy_header_of

HEALTH_MARKER = "@@REMEDIATION-HEALTH@@"
CHECK_ORDER = ("http", "django_checks", "database", "cache", "channel_layer", "celery")
# The in-process checks first: an app server restarted a moment ago gets that time to boot.
RUN_ORDER = ("django_checks", "database", "cache", "channel_layer", "celery", "http")


def one_line(exc: BaseException, root: str) -> str:
    """``Type: first line of the message (where, when in the project)``."""
    info = error_info(exc, root)
    where = info["where"]
    text = f"{info['type']}: {info['message']}" if info["message"] else info["type"]
    return f"{text} ({where})" if where and not where.startswith("/") else text


def django_checks() -> tuple[str, str]:
    """``manage.py check``: the system check registry; ERROR and above fail, warnings are listed."""
    from django.core import checks

    messages = [m for m in checks.run_checks() if not m.is_silenced()]
    errors = [m for m in messages if m.is_serious()]
    warnings = [m for m in messages if not m.is_serious() and m.level >= checks.WARNING]
    noted = f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
    if warnings:
        noted += " (" + ", ".join(sorted({m.id or "?" for m in warnings})) + ")"
    if errors:
        shown = "; ".join(f"{m.id or '?'}: {str(m.msg).strip().splitlines()[0][:160]}" for m in errors[:3])
        more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
        return "failed", f"{len(errors)} error{'s' if len(errors) != 1 else ''}: {shown}{more}; {noted}"
    return "ok", f"no errors, {noted}"


def database_check(timeout: float, root: str) -> tuple[str, str]:
    """``SELECT 1`` through every configured connection (an SQLite file that is missing is not created)."""
    from django.db import connections

    parts, failed = [], False
    for alias in connections:
        connection = connections[alias]
        settings_dict = connection.settings_dict
        label = f"{alias} ({connection.vendor})"
        if (settings_dict.get("ENGINE") or "").endswith(".dummy"):
            continue
        try:
            name = str(settings_dict.get("NAME") or "")
            if connection.vendor == "sqlite" and name and name != ":memory:" and not name.startswith("file:") \
                    and not os.path.exists(name):
                raise FileNotFoundError(f"database file {name} does not exist")
            if connection.vendor in ("postgresql", "mysql"):
                settings_dict.setdefault("OPTIONS", {}).setdefault("connect_timeout", max(1, int(timeout)))
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                row = cursor.fetchone()
            if not row or row[0] != 1:
                raise ValueError(f"SELECT 1 returned {row!r}")
            parts.append(f"{label} SELECT 1 ok")
        except Exception as exc:
            failed = True
            parts.append(f"{label}: {one_line(exc, root)}")
        finally:
            connection.close()
    if not parts:
        return "skipped", "no database configured"
    return ("failed" if failed else "ok"), "; ".join(parts)


def cache_check() -> tuple[str, str]:
    """Set, get and delete a random key on the default cache."""
    from django.conf import settings
    from django.core.cache import caches

    if "default" not in (getattr(settings, "CACHES", None) or {}):
        return "skipped", "no default cache configured"
    cache = caches["default"]
    backend = type(cache).__name__
    if backend == "DummyCache":
        return "skipped", "default cache is DummyCache (it stores nothing)"
    key, value = f"remediation-health-{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, 60)
    try:
        got = cache.get(key)
    finally:
        cache.delete(key)
    if got != value:
        return "failed", f"default ({backend}): a value set was not read back"
    if cache.get(key) is not None:
        return "failed", f"default ({backend}): a deleted key is still there"
    return "ok", f"default ({backend}) set/get/delete ok" + (" (this process only)" if backend == "LocMemCache" else "")


def channel_layer_check(timeout: float) -> tuple[str, str]:
    """Send a message to a new random channel of the default layer and receive it back."""
    from django.conf import settings

    if not getattr(settings, "CHANNEL_LAYERS", None):
        return "skipped", "CHANNEL_LAYERS is not configured"
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return "skipped", "no default channel layer"
    backend = type(layer).__name__
    token = uuid.uuid4().hex

    async def roundtrip():
        try:
            channel = await layer.new_channel("remediation-health")
            await layer.send(channel, {"type": "remediation.health", "token": token})
            return await asyncio.wait_for(layer.receive(channel), timeout)
        finally:
            close = getattr(layer, "close_pools", None)
            if close is not None:
                await close()

    try:
        message = async_to_sync(roundtrip)()
    except (asyncio.TimeoutError, TimeoutError):
        return "failed", f"{backend}: the message sent did not come back within {timeout:g}s"
    if not isinstance(message, dict) or message.get("token") != token:
        return "failed", f"{backend}: received a different message than was sent"
    return "ok", f"{backend} send/receive ok" + (" (this process only)" if backend == "InMemoryChannelLayer" else "")


def celery_check(app_name: str | None, expect_worker: bool, timeout: float) -> tuple[str, str]:
    """``celery inspect ping``: a worker of this host must answer when one is expected (the
    broker is shared by the fleet, so another host's worker does not count); else the broker
    must answer."""
    if not app_name:
        return "skipped", "no Celery app"
    from celery.app.utils import find_app
    from celery.utils.nodenames import default_nodename

    app = find_app(app_name)
    broker = mask_url(str(app.conf.broker_url or "")) or "(no broker_url)"
    with app.connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.5, timeout=timeout)
        except Exception as exc:
            return "failed", f"broker {broker} does not answer: {type(exc).__name__}: {str(exc).strip()[:200]}"
        if not expect_worker:
            return "ok", f"broker {broker} answers (no worker expected on this host)"
        mine = default_nodename(None)
        host = mine.partition("@")[2]
        replies = app.control.ping(destination=[mine], timeout=timeout, limit=1, connection=connection)
        names = [name for reply in replies or [] for name in reply]
        if not names:  # a worker named otherwise (-n name@%h) answers to a ping of every worker
            names = [name for reply in app.control.ping(timeout=min(timeout, 1.0), connection=connection) or []
                     for name in reply]
    here = sorted(name for name in names if name.partition("@")[2] == host)
    if here:
        return "ok", f"{', '.join(here)} answered ping"
    others = f"; other hosts' workers did: {', '.join(sorted(names)[:5])}" if names else ""
    return "failed", f"no worker of this host ({host}) answered ping within {timeout:g}s on broker {broker}{others}"


def settings_secrets(settings) -> set:
    """Every secret value the settings hold: secret-named values, URL passwords, nested ones too."""
    found: set = set()

    def walk(name, value, depth):
        if isinstance(value, str):
            found.update(secret_values({name: value}))
        elif isinstance(value, dict) and depth < 4:
            for key, item in value.items():
                walk(str(key) if is_secret_name(str(key)) else name, item, depth + 1)
        elif isinstance(value, (list, tuple)) and depth < 4:
            for item in value:
                walk(name, item, depth + 1)

    for name in dir(settings):
        if name.isupper():
            walk(name, getattr(settings, name, None), 0)
    return found


def run_health(config: dict, diag: int | None) -> tuple[list, set]:
    """Every check's result (in CHECK_ORDER) and the secrets to scrub from them."""
    root = os.path.abspath(config["manage_dir"])
    os.chdir(root)
    sys.path.insert(0, root)
    sys.argv = [os.path.join(root, "manage.py"), "check"]
    sys.dont_write_bytecode = True
    module = config.get("settings") or os.environ.get("DJANGO_SETTINGS_MODULE") \
        or settings_module_from_manage(os.path.join(root, "manage.py"))
    if module:
        os.environ["DJANGO_SETTINGS_MODULE"] = module
    secrets = secret_values(os.environ)
    report_stage(diag, "settings")
    started = time.perf_counter()
    try:
        import django
        from django.conf import settings

        settings.INSTALLED_APPS
        django.setup()
    except BaseException as exc:  # settings may raise anything, even SystemExit
        line = f"settings did not load: {one_line(exc, root)}"
        seconds = round(time.perf_counter() - started, 3)
        return [{"name": name, "status": "failed", "detail": line, "seconds": seconds} for name in CHECK_ORDER], secrets
    secrets |= settings_secrets(settings)
    timeout, url = float(config.get("timeout") or 5), config["url"]
    proxy = config.get("proxy_header")
    proxy = proxy_header_of(getattr(settings, "SECURE_PROXY_SSL_HEADER", None)) if proxy is None else (tuple(proxy) or None)
    host = config.get("host_header") or default_host(getattr(settings, "ALLOWED_HOSTS", None), url)
    checks = {
        "django_checks": django_checks,
        "database": lambda: database_check(timeout, root),
        "cache": cache_check,
        "channel_layer": lambda: channel_layer_check(timeout),
        "celery": lambda: celery_check(config.get("celery_app"), bool(config.get("expect_worker")), timeout),
        "http": lambda: http_check(url, host, proxy, timeout, int(config.get("attempts") or 1),
                                  float(config.get("interval") or 0)),
    }
    results = {}
    for name in RUN_ORDER:
        report_stage(diag, name)
        started = time.perf_counter()
        try:
            status, detail = checks[name]()
        except (Exception, SystemExit) as exc:
            status, detail = "failed", one_line(exc, root)
        results[name] = {"name": name, "status": status, "detail": detail,
                         "seconds": round(time.perf_counter() - started, 3)}
    return [results[name] for name in CHECK_ORDER], secrets


def health_main() -> int:
    config = globals().get("PROBE_CONFIG")
    if config is None or config.get("role") != "worker":  # the supervisor, started by transport.run_script
        config = json.loads(sys.stdin.readline())
        return supervise(config, config.pop("source"), HEALTH_MARKER)
    diag = os.dup(2)
    worker_watchdog(config, diag)
    real_stdout = os.dup(1)
    sys.stdout.flush()
    sys.stderr.flush()
    captured = tempfile.TemporaryFile()  # the project's banners and logging: counted, never shown
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    secrets: set = set()
    try:
        checks, secrets = run_health(config, diag)
        document = {"checks": checks, "error": None}
    except BaseException as exc:  # never let the project crash the script unreported
        document = {"checks": None, "error": {"stage": "health", "kind": "error",
                                              "message": one_line(exc, os.path.abspath(config["manage_dir"]))}}
    sys.stdout.flush()
    sys.stderr.flush()
    document["hostname"] = socket.gethostname()
    text = scrub(json.dumps(document, default=str), secrets | secret_values(os.environ))
    os.write(real_stdout, f"\n{HEALTH_MARKER}{text}\n".encode())
    return 0


if __name__ == "__main__":
    os._exit(health_main())
