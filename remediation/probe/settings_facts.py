"""The settings the checks read, reduced to what may be reported (secrets to set/unset)."""

from __future__ import annotations

import json
import os

from ..masking import safe_value
from .common import fingerprint

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
