"""The settings the checks read, reduced to what may be reported (secrets to set/unset)."""

from __future__ import annotations

import json
import os
import re

from ..masking import safe_value
from .common import fingerprint

INSECURE_PREFIX = "django-insecure-"
# What in the project's own code shows a component is used (components_used below).
CODE_USES = {
    "cache": re.compile(r"^\s*(from django\.core\.cache\b|import django\.core\.cache\b)|\bcache_page\b|\bcaches\[", re.M),
    "celery": re.compile(r"^\s*(from celery\b|import celery\b)|\bshared_task\b", re.M),
}
SKIPPED_FOLDERS = {"node_modules", "__pycache__", "site-packages", "dist-packages", "migrations", "static", "media",
                   "staticfiles", "venv", "env"}
MAX_SCANNED_FILES = 3000


def read_settings(probe, settings) -> dict:
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
            "fingerprint": fingerprint(probe.config.get("fingerprint_key"), key),
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
        "COMPONENTS": components_used(probe.root, settings),
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
        "SESSION_COOKIE_NAME",  # remediation/verify: which cookie on the wire is the session's
        "CSRF_COOKIE_NAME",
        "SECURE_REFERRER_POLICY",
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


def code_uses(root: str) -> dict[str, list[str]]:
    """component -> the project's own files (relative) whose source shows it is used; bounded walk."""
    found: dict[str, list[str]] = {name: [] for name in CODE_USES}
    scanned = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS
                         and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg")))
        for name in sorted(files):
            if not name.endswith(".py") or scanned >= MAX_SCANNED_FILES:
                continue
            scanned += 1
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(1 << 20)
            except OSError:
                continue
            for component, pattern in CODE_USES.items():
                if pattern.search(text):
                    found[component].append(os.path.relpath(path, root))
    return found


def components_used(root: str, settings) -> dict:
    """Whether the project uses a cache, Celery, Channels and DRF, with the evidence: an area whose
    component is not used has nothing to report (a project without a cache needs no Redis cache)."""
    get = lambda name, default=None: getattr(settings, name, default)  # noqa: E731
    apps = list(get("INSTALLED_APPS") or [])
    middleware = list(get("MIDDLEWARE") or [])
    code = code_uses(root)
    overridden = getattr(settings, "is_overridden", lambda name: False)
    cache = []
    if overridden("CACHES"):
        cache.append("CACHES is set")
    if "cache" in str(get("SESSION_ENGINE") or ""):
        cache.append(f"SESSION_ENGINE {get('SESSION_ENGINE')}")
    cache += [f"middleware {m.rsplit('.', 1)[-1]}" for m in middleware if "CacheMiddleware" in m]
    if (get("REST_FRAMEWORK") or {}).get("DEFAULT_THROTTLE_CLASSES"):
        cache.append("DRF throttling")
    cache += [f"{path} uses the cache" for path in code["cache"][:5]]
    celery = [f"{name} is set" for name in dir(settings) if name.startswith("CELERY_")][:5]
    celery += [f"{app} in INSTALLED_APPS" for app in apps if app.startswith(("django_celery_", "celery"))]
    celery += [f"{path} uses Celery" for path in code["celery"][:5]]
    channels = [f"{app} in INSTALLED_APPS" for app in apps if app in ("channels", "daphne")]
    if overridden("CHANNEL_LAYERS"):
        channels.append("CHANNEL_LAYERS is set")
    rest = [f"{app} in INSTALLED_APPS" for app in apps if app == "rest_framework" or app.startswith("rest_framework.")]
    return {
        name: {"used": bool(evidence), "evidence": evidence}
        for name, evidence in (("cache", cache), ("celery", celery), ("channels", channels), ("rest_framework", rest))
    }
