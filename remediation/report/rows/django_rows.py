"""Rows of the areas Django itself reports: database, Django, REST framework, cache, Celery,
Channels, API and security. Every row is ``unknown`` when the settings did not import."""

from __future__ import annotations

from .base import ERROR, NOT_USED, OK, UNKNOWN, WARNING, View, listing, plural, short

SECURITY_FLAGS = (
    ("SECURE_SSL_REDIRECT", ("security.ssl_redirect",)),
    ("SECURE_HSTS_SECONDS", ("security.hsts",)),
    ("SECURE_HSTS_INCLUDE_SUBDOMAINS", ("security.hsts_subdomains",)),
    ("SECURE_HSTS_PRELOAD", ("security.hsts_preload",)),
    ("SESSION_COOKIE_SECURE", ("security.session_cookie_secure",)),
    ("CSRF_COOKIE_SECURE", ("security.csrf_cookie_secure",)),
    ("SECURE_CONTENT_TYPE_NOSNIFF", ("security.content_type_nosniff",)),
    ("SECURE_PROXY_SSL_HEADER", ()),
    ("X_FRAME_OPTIONS", ()),
)
LOCAL_CACHES = ("LocMemCache", "DummyCache", "FileBasedCache")


def database_rows(view: View) -> list:
    if not view.django_ready:
        return [view.unknown_django("Database", ("database.unreachable",))]
    db = view.probe.get("database") or {}
    if not db.get("configured"):
        return [("Database", NOT_USED, "no default database", ())]
    where = view.rel(db.get("name")) if db.get("vendor") == "sqlite" else \
        f"{db.get('name')} on {db.get('host') or 'local socket'}{':' + db['port'] if db.get('port') else ''}"
    if "size_bytes" in db:
        where += f" ({db['size_bytes'] / 1_000_000:.1f} MB)"
    rows = [("DB Engine", OK, f"{db.get('engine')} ({db.get('vendor')})", ("database.sqlite",)),
            ("Current DB", OK if db.get("reachable") else ERROR,
             f"{where}: {'answers' if db.get('reachable') else db.get('error') or 'does not answer'}",
             ("database.unreachable",))]
    rows.append(migration_row(view.probe.get("migrations") or {}))
    changes = (view.probe.get("migrations") or {}).get("model_changes") or {}
    if "error" not in changes:
        rows.append(("Model Changes", OK, listing(sorted(changes), "none without a migration"), ("database.model_changes",)))
    test = ((view.part("database") or {}).get("default") or {}).get("test_name")
    if test:
        rows.append(("Test Database", OK, test, ()))
    return rows


def migration_row(migrations: dict) -> tuple:
    ids = ("database.migrations_broken", "database.migration_conflict", "database.migrations_unapplied")
    if migrations.get("error"):
        return ("Migration Status", ERROR, f"cannot load: {migrations['error'].get('type')}", ids)
    apps = migrations.get("apps") or {}
    if not migrations.get("applied_known"):
        on_disk = sum(len(a.get("on_disk") or []) for a in apps.values())
        return ("Migration Status", UNKNOWN, f"{plural(on_disk, 'migration')} on disk; applied unknown "
                                             "(the database did not answer)", ids)
    applied = sum(len(a.get("applied") or []) for a in apps.values())
    plan = migrations.get("plan") or []
    detail = f"{applied} applied, {len(plan)} not applied" + (f" ({listing(plan)})" if plan else "")
    return ("Migration Status", OK, detail, ids)


def django_rows(view: View) -> list:
    if not view.django_ready:
        return [view.unknown_django("Settings", ("django.settings_error",))]
    settings, checks = view.settings, view.probe.get("checks") or {}
    rows = [("Settings Module", OK, view.probe.get("settings_module") or "?", ())]
    if checks.get("error"):
        rows.append(("System Check", ERROR, f"crashed: {checks['error'].get('type')}", ("django.checks_failed",)))
    else:
        messages = checks.get("messages") or []
        for label, deploy in (("System Check", False), ("System Check (deploy)", True)):
            chosen = [m for m in messages if m["id"].startswith("security.") == deploy]
            errors = sum(1 for m in chosen if m["level_name"] in ("ERROR", "CRITICAL"))
            warnings = sum(1 for m in chosen if m["level_name"] == "WARNING")
            state = ERROR if errors else WARNING if warnings else OK
            rows.append((label, state, f"{plural(errors, 'error')}, {plural(warnings, 'warning')}", ()))
    apps = settings.get("INSTALLED_APPS") or []
    middleware = settings.get("MIDDLEWARE") or []
    rows.append(("INSTALLED_APPS", OK, plural(len(apps), "app"), ()))
    rows.append(("Middleware", OK, f"{len(middleware)}: {listing(short(m) for m in middleware)}" if middleware else "none", ()))
    if view.installed_app("corsheaders"):
        if settings.get("CORS_ALLOW_ALL_ORIGINS") or settings.get("CORS_ORIGIN_ALLOW_ALL"):
            rows.append(("CORS_ALLOWED_ORIGINS", OK, "all origins allowed", ("django.cors_allow_all",)))
        else:
            rows.append(("CORS_ALLOWED_ORIGINS", OK, listing(settings.get("CORS_ALLOWED_ORIGINS"), "empty"),
                         ("django.cors_local", "django.cors_allow_all")))
    else:
        rows.append(("CORS", NOT_USED, "django-cors-headers not installed", ()))
    static = view.probe.get("static") or {}
    if settings.get("STATIC_ROOT"):
        collected = static_state(static)
        detail = f"STATIC_ROOT: {view.rel(settings['STATIC_ROOT'])}" + (f" ({collected})" if collected else "")
        rows.append(("Static Files", OK, detail, ("django.static_not_collected",)))
    else:
        rows.append(("Static Files", WARNING, "STATIC_ROOT not set", ("django.static_root",)))
    media = settings.get("MEDIA_ROOT")
    storage = short((settings.get("STORAGES") or {}).get("default") or "FileSystemStorage")
    rows.append(("Media Files", OK, f"MEDIA_ROOT: {view.rel(media)} ({storage})" if media else f"no MEDIA_ROOT ({storage})",
                 ("django.media_local",)))
    return rows


def static_state(static: dict) -> str:
    if "missing" not in static:
        return ""  # the finders did not run
    if not static.get("exists"):
        return f"does not exist; {plural(static.get('source_files') or 0, 'file')} to collect"
    if static.get("missing"):
        return f"{static['missing']} of {static.get('source_files')} files not collected"
    return f"{plural(static.get('source_files') or 0, 'file')} collected"


def rest_framework_rows(view: View) -> list:
    if not view.django_ready:
        return [view.unknown_django("REST framework")]
    drf = view.part("rest_framework")
    if drf is None:
        return [("REST framework", UNKNOWN, "not gathered", ())]
    if not drf.get("installed"):
        return [("REST framework", NOT_USED, "rest_framework not in INSTALLED_APPS", ())]
    effective, defaults = drf.get("effective") or {}, set(drf.get("defaults") or [])
    mark = lambda key: " (DRF default)" if key in defaults else ""  # noqa: E731
    pagination = effective.get("DEFAULT_PAGINATION_CLASS")
    rates = effective.get("DEFAULT_THROTTLE_RATES") or {}
    throttles = effective.get("DEFAULT_THROTTLE_CLASSES") or []
    rows = [
        ("Default Authentication", OK, listing(short(c) for c in effective.get("DEFAULT_AUTHENTICATION_CLASSES") or [])
         + mark("DEFAULT_AUTHENTICATION_CLASSES"), ()),
        ("Permissions", OK, listing(short(c) for c in effective.get("DEFAULT_PERMISSION_CLASSES") or [])
         + mark("DEFAULT_PERMISSION_CLASSES"), ("rest_framework.allow_any",)),
        ("Pagination", OK if pagination else WARNING,
         f"{short(pagination)}, PAGE_SIZE={effective.get('PAGE_SIZE')}" if pagination else "none",
         ("rest_framework.no_pagination",)),
        ("Throttling", OK if throttles and rates else WARNING,
         f"{listing(short(c) for c in throttles)}; {plural(len(rates), 'rate')}", ("rest_framework.no_throttling",)),
    ]
    rows += [(f"Throttle rate: {scope}", OK, str(rate), ()) for scope, rate in rates.items()]
    rows.append(("Exception Handler", OK, f"{effective.get('EXCEPTION_HANDLER')}{mark('EXCEPTION_HANDLER')}", ()))
    rows.append(("Schema Class", OK, f"{effective.get('DEFAULT_SCHEMA_CLASS')}{mark('DEFAULT_SCHEMA_CLASS')}", ()))
    return rows


def cache_rows(view: View) -> list:
    if not view.django_ready:
        return [view.unknown_django("Cache")]
    if (view.part("overridden") or {}).get("CACHES") is False:
        return [("Cache", NOT_USED, "no CACHES in the settings (Django's default LocMemCache)", ())]
    rows = []
    for alias, cache in (view.settings.get("CACHES") or {}).items():
        backend = short(cache.get("BACKEND"))
        local = backend in LOCAL_CACHES
        location = cache.get("LOCATION")
        detail = backend + (f", LOCATION {listing(location) if isinstance(location, list) else location}" if location else "")
        rows.append((f"Cache '{alias}'", WARNING if local else OK, detail, ("cache.local",) if local else ()))
    if "USE_REDIS_CACHE" in view.settings:
        rows.append(("USE_REDIS_CACHE", OK, str(view.settings["USE_REDIS_CACHE"]), ()))
    return rows or [("Cache", NOT_USED, "no CACHES", ())]


def celery_rows(view: View) -> list:
    if not view.django_ready:
        return [view.unknown_django("Celery")]
    app = view.part("celery")
    if app is None:
        return [("Celery", UNKNOWN, "not gathered", ())]
    broker_setting = view.settings.get("CELERY_BROKER_URL")
    if not app.get("module") and not view.version("celery"):
        return [("Celery", NOT_USED, "not installed and no Celery app", ())]
    if not app.get("module"):
        return [("Celery App", NOT_USED, f"celery {view.version('celery')} installed, no Celery app found", ())]
    imported = "" if app.get("imported") else " (not imported by the project's packages)"
    rows = [("Celery App", OK, f"{app['module']} ({app.get('path')}){imported}", ())]
    broker = app.get("broker") or broker_setting
    rows.append(("Broker", OK if broker else ERROR, broker or "not set", ("celery.no_broker",)))
    backend = app.get("result_backend") or view.settings.get("CELERY_RESULT_BACKEND")
    rows.append(("Result Backend", OK, backend or "none", ()))
    if "task_serializer" in app:
        rows.append(("Task Serializer", OK, f"{app['task_serializer']} (accepts {listing(app.get('accept_content'))})",
                     ("celery.pickle",)))
        rows.append(("Eager Mode", OK, "on: tasks run inline" if app.get("always_eager") else "off", ("celery.eager",)))
    rows.append(("Auto-discovery", OK if app.get("autodiscover") else WARNING,
                 "autodiscover_tasks() called" if app.get("autodiscover") else "autodiscover_tasks() not called", ()))
    return rows


def channels_rows(view: View) -> list:
    if not view.django_ready:
        return [view.unknown_django("Channels")]
    if not view.installed_app("channels"):
        return [("Channels", NOT_USED, "channels not in INSTALLED_APPS", ())]
    rows = [("Channels", OK, f"channels {view.version('channels') or '?'}", ())]
    asgi = view.settings.get("ASGI_APPLICATION")
    rows.append(("ASGI Application", OK if asgi else ERROR, asgi or "not set", ("channels.no_asgi_application",)))
    daphne = view.version("daphne")
    enabled = view.installed_app("daphne")
    detail = f"daphne {daphne}, {'in' if enabled else 'not in'} INSTALLED_APPS" if daphne else "daphne not installed"
    rows.append(("Daphne Server", OK if daphne and enabled else WARNING, detail,
                 ("channels.daphne_disabled", "channels.no_asgi_server")))
    for alias, layer in (view.settings.get("CHANNEL_LAYERS") or {}).items():
        rows.append((f"Channel Layer '{alias}'", OK, short(layer.get("BACKEND")), ("channels.in_memory",)))
    if not view.settings.get("CHANNEL_LAYERS"):
        rows.append(("Channel Layer", OK, "none", ("channels.in_memory",)))
    if "USE_REDIS_CHANNELS" in view.settings:
        rows.append(("USE_REDIS_CHANNELS", OK, str(view.settings["USE_REDIS_CHANNELS"]), ()))
    return rows


def api_rows(view: View) -> list:
    if not view.django_ready:
        return [view.unknown_django("URL Configuration", ("api.urls_error",))]
    urls = view.part("urls")
    if (view.probe.get("urls") or {}).get("error") or urls is None:
        return [("URL Configuration", UNKNOWN, "the root URLconf did not load", ("api.urls_error",))]
    docs = urls.get("docs") or []
    modules = [m["module"] for m in urls.get("modules") or [] if m.get("depth") == 0]
    append_slash = (view.part("flags") or {}).get("APPEND_SLASH")
    return [
        ("API Documentation", OK if docs else WARNING,
         listing(f"{short(d['view'])} at /{d['route']}" for d in docs) if docs else "no schema or docs view",
         ("api.no_docs", "api.schema_errors", "api.schema_warnings")),
        ("URL Configuration", OK, f"{plural(len(modules), 'module')}: {listing(modules)}", ()),
        ("Root URLconf", OK, f"{view.settings.get('ROOT_URLCONF')} (APPEND_SLASH={append_slash})", ()),
    ]


def security_rows(view: View) -> list:
    if not view.django_ready:
        return [view.unknown_django("Security settings")]
    rows = []
    for name, ids in SECURITY_FLAGS:
        value = view.settings.get(name)
        state = WARNING if ids and not value else OK  # a flag a check reads, left off
        rows.append((name, state, "not set" if value is None else str(value), ids))
    return rows


BUILDERS = {
    "database": database_rows, "django": django_rows, "rest_framework": rest_framework_rows, "cache": cache_rows,
    "celery": celery_rows, "channels": channels_rows, "api": api_rows, "security": security_rows,
}
