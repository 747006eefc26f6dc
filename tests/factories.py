"""Facts built in memory for pure check tests: a healthy production project by default.

``make_facts()`` passes every check; tests change one thing (``settings={"DEBUG": True}``) to
make one check fail, or remove what a check needs to make it not apply.
"""

from __future__ import annotations

import copy
from pathlib import Path

from remediation.facts import EnvFile, Facts, GitFacts, NodeFacts, ServiceFacts

HEALTHY_SETTINGS = {
    "DEBUG": False,
    "ALLOWED_HOSTS": ["thebot.example.com"],
    "ENVIRONMENT": "production",
    "SECRET_KEY": {"set": True, "length": 64, "unique": 40, "insecure_prefix": False, "fallbacks": 0},
    "INSTALLED_APPS": [
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
        "django.contrib.messages", "django.contrib.staticfiles", "rest_framework", "corsheaders", "channels",
        "daphne", "drf_spectacular",
    ],
    "MIDDLEWARE": ["django.middleware.security.SecurityMiddleware"],
    "ROOT_URLCONF": "config.urls",
    "ASGI_APPLICATION": "config.asgi.application",
    "STATIC_ROOT": "/srv/app/backend/staticfiles",
    "MEDIA_ROOT": "/srv/app/backend/media",
    "STORAGES": {"default": "storages.backends.s3.S3Storage"},
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/1"}},
    "CHANNEL_LAYERS": {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}},
    "REST_FRAMEWORK": {
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"user": "500/hour"},
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "PAGE_SIZE": 20,
    },
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SECURE_CONTENT_TYPE_NOSNIFF": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "CORS_ALLOWED_ORIGINS": ["https://thebot.example.com"],
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CELERY_TASK_SERIALIZER": "json",
    "CELERY_ACCEPT_CONTENT": ["json"],
}

HEALTHY_PROBE = {
    "error": None,
    "settings": HEALTHY_SETTINGS,
    "checks": {"messages": [], "silenced": 0, "error": None},
    "database": {"configured": True, "engine": "django.db.backends.postgresql", "vendor": "postgresql",
                 "name": "thebot", "host": "127.0.0.1", "port": "5432", "reachable": True, "error": None},
    "migrations": {"apps": {}, "plan": [], "error": None, "conflicts": {}, "model_changes": {}},
    "static": {"enabled": True, "static_root": "/srv/app/backend/staticfiles", "exists": True, "source_files": 3, "missing": 0},
    "redis": [{"url": "redis://127.0.0.1:6379/0", "used_by": ["CELERY_BROKER_URL"], "reachable": True, "error": None}],
    "urls": {"patterns": 3, "modules": [], "views": ["drf_spectacular.views.SpectacularAPIView"], "error": None},
    "packages": {"Django": "5.2", "daphne": "4.2"},
    # The environment variables the settings read (the probe's recorder), all set.
    "environ": {"recorded": True, "read": {
        name: {"default": "" if name != "FRONTEND_URL" else "http://localhost:3000", "where": "config/settings.py:300",
               "set": True}
        for name in ("TELEGRAM_BOT_TOKEN", "OPENROUTER_API_KEY", "YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY", "EMAIL_HOST",
                     "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "FRONTEND_URL")}},
}


def make_facts(settings=None, probe=None, env=None, env_errors=None, git=None, services=None,
               requirements=None, requirement_files=("backend/requirements.txt",), node=None, tmp=None) -> Facts:
    """Facts of a healthy project, with the given parts replaced or merged in.

    ``settings`` and ``probe`` are merged into the healthy ones (a value of None deletes a key).
    """
    merged_probe = copy.deepcopy(HEALTHY_PROBE)
    for key, value in (probe or {}).items():
        if value is None:
            merged_probe.pop(key, None)
        else:
            merged_probe[key] = value
    for key, value in (settings or {}).items():
        if value is None:
            merged_probe["settings"].pop(key, None)
        else:
            merged_probe["settings"][key] = value
    root = Path(tmp or "/srv/app")
    env_path = root / ".env"
    return Facts(
        host="localhost",
        root=root,
        manage_dir=root / "backend",
        python="/usr/bin/python3",
        env=ExistingEnv(env_path, dict(env or {}), list(env_errors or [])),
        probe=merged_probe,
        git=git or GitFacts(is_repo=True, root=str(root), branch="main", head="a" * 40, upstream="origin/main",
                            ahead=0, behind=0, remote="origin", remote_url="https://example.com/thebot.git"),
        services=services or ServiceFacts(docker_engine=True, compose_files=["docker-compose.yml"]),
        requirements=list(requirements or [{"name": "Django", "specifier": ">=5.2", "installed": "5.2", "satisfied": True}]),
        requirement_files=list(requirement_files),
        node=node or NodeFacts(package_json="frontend/package.json", scripts=["build", "dev"], node_modules=True,
                               build_output="frontend/dist"),
    )


class ExistingEnv(EnvFile):
    """An env file that counts as present without touching the disk."""

    @property
    def exists(self) -> bool:
        return self.path is not None
