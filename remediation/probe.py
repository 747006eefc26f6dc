"""The probe: one process in the target project's Python that gathers every Django fact.

It is a standalone script (standard library + the project's own Django) so that it can be
streamed to any interpreter, local or remote, over stdin, leaving nothing on the host:

    python - < (PROBE_CONFIG = {...} + this file)

or run by hand for debugging: ``python probe.py '{"manage_dir": "backend"}'``.

It imports the settings once and asks Django itself: the check framework (``deploy=True``),
the migration loader and executor, the autodetector, the staticfiles finders. The project's
own stdout and stderr (banners, warnings, logging) are diverted at the file-descriptor level,
so the one JSON document printed at the end is never polluted. No secret value leaves this
process: secret settings are reduced to "set or not" (SECRET_KEY to its quality), URLs lose
their passwords, and the final document is scrubbed of every secret value the probe knows.

The toolkit imports this module too, for the masking helpers, so both sides mask alike.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import tempfile
import time
import traceback
from urllib.parse import unquote, urlsplit, urlunsplit

PROBE_VERSION = 1
MARKER = "@@REMEDIATION-PROBE@@"
MASK = "****"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|PASS$|TOKEN|API_KEY|_KEY$|PRIVATE|CREDENTIAL|DSN", re.I)
INSECURE_PREFIX = "django-insecure-"
EXTERNAL_KEYS = (
    "TELEGRAM_BOT_TOKEN",
    "OPENROUTER_API_KEY",
    "YOOKASSA_SHOP_ID",
    "YOOKASSA_SECRET_KEY",
    "EMAIL_HOST",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
)


# --- masking, shared with the toolkit -------------------------------------------------------


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name or ""))


def url_password(value: str) -> str | None:
    """The password inside a URL such as postgres://user:pw@host/db, if any."""
    if not isinstance(value, str) or "://" not in value:
        return None
    try:
        password = urlsplit(value).password
    except ValueError:
        return None
    return unquote(password) if password else None


def mask_url(value: str) -> str:
    """The URL with its password replaced by ****, everything else kept for the reader."""
    if not isinstance(value, str) or "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        if parts.password is None:
            return value
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        netloc = f"{user}:{MASK}@{host}{port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return MASK


def safe_value(name: str, value):
    """What may be reported of a named value: secrets become set/unset, URLs lose passwords."""
    if is_secret_name(name):
        return bool(value)
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, (list, tuple)):
        return [safe_value(name, v) for v in value]
    return value


def scrub(text: str, secrets) -> str:
    """Replace every known secret value (raw and JSON-escaped) in ``text`` with ****."""
    for secret in sorted({s for s in secrets if isinstance(s, str) and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret:
            text = text.replace(escaped, MASK)
    return text


def secret_values(environ) -> set[str]:
    """Every value in an environment that must never be printed."""
    found = set()
    for key, value in environ.items():
        if not value:
            continue
        if is_secret_name(key):
            found.add(value)
        password = url_password(value)
        if password:
            found.add(password)
    return found


# --- the probe itself -------------------------------------------------------------------------


def error_info(exc: BaseException, root: str) -> dict:
    """Exception type, message and the innermost place in the project it came from."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:
        frames.append(traceback.FrameSummary(exc.filename, exc.lineno or 0, "<module>"))
    where = None
    for frame in reversed(frames):
        if frame.filename.startswith(root):
            where = f"{os.path.relpath(frame.filename, root)}:{frame.lineno}"
            break
    if where is None and frames:
        where = f"{frames[-1].filename}:{frames[-1].lineno}"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return {"type": type(exc).__name__, "message": message[:500], "where": where}


class Probe:
    def __init__(self, config: dict):
        self.config = config
        self.root = os.path.abspath(config["manage_dir"])
        self.result: dict = {"probe_version": PROBE_VERSION, "error": None, "timings": {}}
        self.secrets: set[str] = set()
        self._started = time.perf_counter()

    def timed(self, stage: str, func):
        start = time.perf_counter()
        try:
            return func()
        finally:
            self.result["timings"][stage] = round((time.perf_counter() - start) * 1000, 1)

    def fail(self, stage: str, exc: BaseException) -> dict:
        self.result["error"] = {"stage": stage, **error_info(exc, self.root)}
        return self.result

    def run(self) -> dict:
        self.result["python"] = {
            "version": ".".join(map(str, sys.version_info[:3])),
            "executable": sys.executable,
        }
        self.prepare_environment()
        self.result["packages"] = self.packages()
        try:
            import django
        except Exception as exc:  # an interpreter without Django
            return self.fail("django", exc)
        self.result["django"] = {"version": django.get_version()}
        try:
            from django.conf import settings

            self.timed("settings", lambda: settings.INSTALLED_APPS)
        except BaseException as exc:  # settings may raise anything, even SystemExit
            return self.fail("settings", exc)
        try:
            self.timed("setup", django.setup)
        except BaseException as exc:
            return self.fail("setup", exc)
        self.collect_secrets(settings)
        self.result["settings"] = self.timed("read_settings", lambda: self.read_settings(settings))
        self.result["database"] = self.timed("database", self.database)
        self.result["checks"] = self.timed("checks", self.checks)
        self.result["migrations"] = self.timed("migrations", self.migrations)
        self.result["static"] = self.timed("static", lambda: self.static(settings))
        self.result["redis"] = self.timed("redis", lambda: self.redis(settings))
        self.result["urls"] = self.timed("urls", self.urls)
        return self.result

    def prepare_environment(self) -> None:
        os.chdir(self.root)
        sys.path.insert(0, self.root)
        sys.argv = [os.path.join(self.root, "manage.py"), "check", "--deploy"]
        sys.dont_write_bytecode = True
        for key, value in (self.config.get("env") or {}).items():
            os.environ[key] = value
        module = self.config.get("settings") or os.environ.get("DJANGO_SETTINGS_MODULE")
        if not module:
            module = settings_module_from_manage(os.path.join(self.root, "manage.py"))
        if module:
            os.environ["DJANGO_SETTINGS_MODULE"] = module
        self.result["settings_module"] = module
        self.secrets |= secret_values(os.environ)

    def packages(self) -> dict:
        from importlib import metadata

        found = {}
        for name in self.config.get("packages") or []:
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found[name] = None
            except Exception:
                found[name] = None
        return found

    def collect_secrets(self, settings) -> None:
        self.secrets.add(getattr(settings, "SECRET_KEY", "") or "")
        self.secrets |= set(getattr(settings, "SECRET_KEY_FALLBACKS", None) or [])
        for db in getattr(settings, "DATABASES", {}).values():
            self.secrets.add(db.get("PASSWORD") or "")
        for name in dir(settings):
            if name.isupper() and is_secret_name(name):
                value = getattr(settings, name, None)
                if isinstance(value, str):
                    self.secrets.add(value)

    def read_settings(self, settings) -> dict:
        get = lambda name, default=None: getattr(settings, name, default)  # noqa: E731
        key = get("SECRET_KEY") or ""
        data = {
            "DEBUG": bool(get("DEBUG")),
            "ALLOWED_HOSTS": list(get("ALLOWED_HOSTS") or []),
            "ENVIRONMENT": get("ENVIRONMENT"),
            "SECRET_KEY": {
                "set": bool(key),
                "length": len(key),
                "unique": len(set(key)),
                "insecure_prefix": key.startswith(INSECURE_PREFIX),
                "fallbacks": len(get("SECRET_KEY_FALLBACKS") or []),
                "fingerprint": fingerprint(self.config.get("fingerprint_key"), key),
            },
            "INSTALLED_APPS": list(get("INSTALLED_APPS") or []),
            "MIDDLEWARE": list(get("MIDDLEWARE") or []),
            "ROOT_URLCONF": get("ROOT_URLCONF"),
            "ASGI_APPLICATION": get("ASGI_APPLICATION"),
            "WSGI_APPLICATION": get("WSGI_APPLICATION"),
            "STATIC_URL": get("STATIC_URL"),
            "STATIC_ROOT": str(get("STATIC_ROOT")) if get("STATIC_ROOT") else None,
            "MEDIA_URL": get("MEDIA_URL"),
            "MEDIA_ROOT": str(get("MEDIA_ROOT")) if get("MEDIA_ROOT") else None,
            "STORAGES": {k: v.get("BACKEND") for k, v in (get("STORAGES") or {}).items()},
            "CACHES": {
                alias: {"BACKEND": c.get("BACKEND"), "LOCATION": safe_value("LOCATION", c.get("LOCATION"))}
                for alias, c in (get("CACHES") or {}).items()
            },
            "CHANNEL_LAYERS": {
                alias: {"BACKEND": c.get("BACKEND")} for alias, c in (get("CHANNEL_LAYERS") or {}).items()
            },
            "REST_FRAMEWORK": {
                k: v for k, v in (get("REST_FRAMEWORK") or {}).items() if isinstance(v, (str, int, list, tuple, dict))
            },
            "EXTERNAL": {name: bool(get(name) or os.environ.get(name)) for name in EXTERNAL_KEYS},
            "EMAIL_BACKEND": get("EMAIL_BACKEND"),
        }
        for name in (
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SECURE_HSTS_PRELOAD",
            "SECURE_CONTENT_TYPE_NOSNIFF",
            "SECURE_PROXY_SSL_HEADER",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "CSRF_TRUSTED_ORIGINS",
            "X_FRAME_OPTIONS",
            "CORS_ALLOWED_ORIGINS",
            "CORS_ALLOW_ALL_ORIGINS",
            "CORS_ORIGIN_ALLOW_ALL",
            "USE_REDIS_CACHE",
            "USE_REDIS_CHANNELS",
            "CELERY_BROKER_URL",
            "CELERY_RESULT_BACKEND",
            "CELERY_TASK_SERIALIZER",
            "CELERY_ACCEPT_CONTENT",
            "CELERY_TASK_ALWAYS_EAGER",
            "REDIS_URL",
        ):
            if hasattr(settings, name):
                value = get(name)
                data[name] = safe_value(name, list(value) if isinstance(value, tuple) else value)
        return json.loads(json.dumps(data, default=str))

    def database(self) -> dict:
        from django.db import connections

        if "default" not in connections.settings:
            return {"configured": False}
        conn = connections["default"]
        sd = conn.settings_dict
        info = {
            "configured": True,
            "engine": sd.get("ENGINE"),
            "vendor": conn.vendor,
            "name": str(sd.get("NAME") or ""),
            "host": sd.get("HOST") or "",
            "port": str(sd.get("PORT") or ""),
            "user": sd.get("USER") or "",
            "password_set": bool(sd.get("PASSWORD")),
            "reachable": False,
            "error": None,
        }
        if conn.vendor == "sqlite":
            name = info["name"]
            if name and name != ":memory:" and not name.startswith("file:"):
                if not os.path.exists(name):
                    info["error"] = f"database file {name} does not exist"
                    self.db_usable = False
                    return info
                info["size_bytes"] = os.path.getsize(name)
                # Read-only: an audit must never write, not even a journal.
                from urllib.request import pathname2url

                sd["NAME"] = f"file:{pathname2url(os.path.abspath(name))}?mode=ro"
        elif conn.vendor == "postgresql":
            sd.setdefault("OPTIONS", {}).setdefault("connect_timeout", int(self.config.get("timeout", 3)))
        try:
            conn.ensure_connection()
            info["reachable"] = True
        except Exception as exc:
            info["error"] = scrub(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}", self.secrets)
        self.db_usable = info["reachable"]
        return info

    def checks(self) -> dict:
        from django.core import checks

        try:
            messages = checks.run_checks(include_deployment_checks=True)
        except Exception as exc:
            return {"messages": [], "silenced": 0, "error": error_info(exc, self.root)}
        visible = [m for m in messages if not m.is_silenced()]
        return {
            "messages": [
                {
                    "id": m.id,
                    "level": m.level,
                    "level_name": level_name(m.level),
                    "msg": str(m.msg),
                    "hint": str(m.hint) if m.hint else None,
                    "obj": str(m.obj) if m.obj is not None else None,
                }
                for m in visible
            ],
            "silenced": len(messages) - len(visible),
            "error": None,
        }

    def migrations(self) -> dict:
        from django.db import connections
        from django.db.migrations.executor import MigrationExecutor
        from django.db.migrations.loader import MigrationLoader

        result = {"apps": {}, "plan": [], "error": None, "applied_known": False, "conflicts": {}, "model_changes": {}}
        loader = None
        if getattr(self, "db_usable", False):
            try:
                executor = MigrationExecutor(connections["default"])
                loader = executor.loader
                result["applied_known"] = True
                plan = executor.migration_plan(loader.graph.leaf_nodes())
                result["plan"] = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
            except Exception as exc:
                if is_loading_error(exc):
                    result["error"] = error_info(exc, self.root)
                    return result
                result["db_error"] = scrub(f"{type(exc).__name__}: {exc}".splitlines()[0], self.secrets)
                loader = None
        if loader is None:
            try:
                loader = MigrationLoader(None, ignore_no_migrations=True)
            except Exception as exc:
                result["error"] = error_info(exc, self.root)
                return result
        applied = set(loader.applied_migrations or {}) if result["applied_known"] else set()
        apps: dict = {}
        for app_label, name in sorted(loader.disk_migrations):
            entry = apps.setdefault(app_label, {"applied": [], "unapplied": []})
            if result["applied_known"]:
                entry["applied" if (app_label, name) in applied else "unapplied"].append(name)
            else:
                entry.setdefault("on_disk", []).append(name)
        result["apps"] = apps
        result["conflicts"] = {k: sorted(v) for k, v in loader.detect_conflicts().items()}
        result["model_changes"] = self.model_changes(loader)
        return result

    def model_changes(self, loader) -> dict:
        """What makemigrations --check would write: models changed without a migration."""
        from django.apps import apps
        from django.db.migrations.autodetector import MigrationAutodetector
        from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
        from django.db.migrations.state import ProjectState
        from django.utils import translation

        try:
            # As makemigrations does (@no_translations): translated verbose names are not changes.
            with translation.override(None):
                changes = MigrationAutodetector(
                    loader.project_state(),
                    ProjectState.from_apps(apps),
                    NonInteractiveMigrationQuestioner(specified_apps=None, dry_run=True),
                ).changes(graph=loader.graph)
        except Exception as exc:
            return {"error": error_info(exc, self.root)}
        return {
            app: [op.describe() for migration in migrations for op in migration.operations]
            for app, migrations in changes.items()
        }

    def static(self, settings) -> dict:
        if "django.contrib.staticfiles" not in settings.INSTALLED_APPS:
            return {"enabled": False}
        root = getattr(settings, "STATIC_ROOT", None)
        info = {"enabled": True, "static_root": str(root) if root else None, "exists": False}
        try:
            from django.contrib.staticfiles import finders

            sources = set()
            for finder in finders.get_finders():
                for path, storage in finder.list(["CVS", ".*", "*~"]):
                    prefix = getattr(storage, "prefix", None)
                    sources.add(os.path.join(prefix, path) if prefix else path)
        except Exception as exc:
            info["error"] = error_info(exc, self.root)
            return info
        info["source_files"] = len(sources)
        if root and os.path.isdir(root):
            info["exists"] = True
            info["missing"] = sum(1 for p in sources if not os.path.exists(os.path.join(root, p)))
        else:
            info["missing"] = len(sources)
        return info

    def redis(self, settings) -> list:
        """Every Redis the configuration names, and whether it answers PING with its credentials."""
        named: dict = {}

        def add(label, url):
            if isinstance(url, str) and url.startswith(("redis://", "rediss://", "unix://")):
                named.setdefault(url, []).append(label)

        add("REDIS_URL", getattr(settings, "REDIS_URL", None) or os.environ.get("REDIS_URL"))
        add("CELERY_BROKER_URL", getattr(settings, "CELERY_BROKER_URL", None))
        add("CELERY_RESULT_BACKEND", getattr(settings, "CELERY_RESULT_BACKEND", None))
        for alias, cache in (getattr(settings, "CACHES", None) or {}).items():
            if "redis" in (cache.get("BACKEND") or "").lower():
                locations = cache.get("LOCATION")
                for url in locations if isinstance(locations, (list, tuple)) else [locations]:
                    add(f"CACHES[{alias}]", url)
        for alias, layer in (getattr(settings, "CHANNEL_LAYERS", None) or {}).items():
            for host in (layer.get("CONFIG") or {}).get("hosts") or []:
                add(f"CHANNEL_LAYERS[{alias}]", host if isinstance(host, str) else None)
        # One PING per server (scheme, credentials, host, port), whatever database number each use picks.
        servers: dict = {}
        for url, labels in named.items():
            parts = urlsplit(url)
            server = urlunsplit((parts.scheme, parts.netloc, parts.path if parts.scheme == "unix" else "", "", ""))
            servers.setdefault(server, []).extend(labels)
        results = []
        for server, labels in servers.items():
            self.secrets |= {url_password(server) or ""}
            ok, error = redis_ping(server, float(self.config.get("timeout", 3)))
            results.append({"url": mask_url(server), "used_by": labels, "reachable": ok, "error": error})
        return results

    def urls(self) -> dict:
        try:
            from django.urls import URLResolver, get_resolver

            resolver = get_resolver()
            modules, views = [], set()
            for pattern in resolver.url_patterns:
                if isinstance(pattern, URLResolver):
                    name = pattern.urlconf_name
                    modules.append(name if isinstance(name, str) else getattr(name, "__name__", "<list>"))
                else:
                    callback = getattr(pattern, "callback", None)
                    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
                    if view_class is not None:
                        views.add(f"{view_class.__module__}.{view_class.__name__}")
            return {"patterns": len(resolver.url_patterns), "modules": modules, "views": sorted(views), "error": None}
        except Exception as exc:
            return {"patterns": 0, "modules": [], "views": [], "error": error_info(exc, self.root)}


def is_loading_error(exc: BaseException) -> bool:
    """Errors of the migration files themselves, as opposed to the database behind them."""
    from django.db.migrations.exceptions import BadMigrationError, NodeNotFoundError

    return isinstance(exc, (ImportError, SyntaxError, BadMigrationError, NodeNotFoundError, AttributeError, NameError))


def fingerprint(run_key: str | None, secret: str) -> str | None:
    """A keyed hash of a secret: equal on hosts sharing the secret within one run, useless outside it."""
    if not run_key or not secret:
        return None
    import hmac

    return hmac.new(run_key.encode(), secret.encode(), "sha256").hexdigest()[:16]


def level_name(level: int) -> str:
    for threshold, name in ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (20, "INFO")):
        if level >= threshold:
            return name
    return "DEBUG"


def settings_module_from_manage(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None
    match = re.search(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""", text)
    return match.group(1) if match else None


def redis_ping(url: str, timeout: float) -> tuple[bool, str | None]:
    """AUTH (when the URL has credentials) and PING over a raw socket: no redis-py needed."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parts.path)
        else:
            sock = socket.create_connection((parts.hostname or "localhost", parts.port or 6379), timeout=timeout)
            if parts.scheme == "rediss":
                import ssl

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        with sock:
            commands = []
            if parts.password:
                auth = ["AUTH", unquote(parts.username), unquote(parts.password)] if parts.username else ["AUTH", unquote(parts.password)]
                commands.append(auth)
            commands.append(["PING"])
            for command in commands:
                payload = f"*{len(command)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in command)
                sock.sendall(payload.encode())
                reply = sock.recv(512).decode(errors="replace").strip()
                if reply.startswith("-"):
                    return False, reply[1:].split("\r\n")[0][:200]
            return reply.startswith("+PONG"), None if reply.startswith("+PONG") else f"unexpected reply {reply[:40]!r}"
    except (OSError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


def main() -> int:
    config = globals().get("PROBE_CONFIG")
    if config is None:
        config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"manage_dir": os.getcwd()}
    real_stdout = os.dup(1)
    sys.stdout.flush()
    sys.stderr.flush()
    # The project's banners, warnings and logging go to an unlinked temp file, counted, never shown.
    captured = tempfile.TemporaryFile()
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    probe = Probe(config)
    try:
        result = probe.run()
    except BaseException as exc:  # never let the project crash the probe
        result = probe.fail("probe", exc)
    sys.stdout.flush()
    sys.stderr.flush()
    result["project_output_bytes"] = os.fstat(captured.fileno()).st_size
    result["timings"]["total"] = round((time.perf_counter() - probe._started) * 1000, 1)
    document = scrub(json.dumps(result, default=str), probe.secrets)
    os.write(real_stdout, f"\n{MARKER}{document}\n".encode())
    return 0


if __name__ == "__main__":
    os._exit(main())
