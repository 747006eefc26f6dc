"""What the project configures, beyond what the checks need: the report's rows ("what *is* set up").

The effective REST framework settings (the project's, over DRF's own defaults), the Celery app
(found where the project imported it, else in a ``celery.py`` beside its packages, read with
``ast`` so nothing new is imported), the URL modules included and the API docs views, the
database's test name, email and a few plain flags. Secrets are masked with the shared masking
module; every part fails on its own into an ``error`` and never stops the probe.
"""

from __future__ import annotations

import ast
import os
import sys

from ..masking import mask_url, safe_value
from .common import error_info

DRF_KEYS = (
    "DEFAULT_AUTHENTICATION_CLASSES",
    "DEFAULT_PERMISSION_CLASSES",
    "DEFAULT_PAGINATION_CLASS",
    "PAGE_SIZE",
    "DEFAULT_THROTTLE_CLASSES",
    "DEFAULT_THROTTLE_RATES",
    "EXCEPTION_HANDLER",
    "DEFAULT_SCHEMA_CLASS",
)
DOCS_PACKAGES = ("drf_spectacular", "drf_yasg", "rest_framework.schemas", "rest_framework.documentation", "ninja")
URL_DEPTH = 4
# The distributions the report names with their versions (the seed's Python table and a few more):
# core's Probe.packages looks them up with the requirements, before the settings are imported.
REPORTED_PACKAGES = ("Django", "djangorestframework", "celery", "redis", "psycopg", "psycopg-binary", "psycopg2",
                     "psycopg2-binary", "mysqlclient", "channels", "channels-redis", "daphne", "uvicorn", "gunicorn",
                     "hypercorn", "drf-spectacular", "drf-yasg", "django-cors-headers")


def configuration_facts(probe, settings) -> dict:
    parts = {
        "rest_framework": lambda: drf_settings(settings),
        "celery": lambda: celery_app(probe),
        "urls": lambda: url_tree(),
        "database": lambda: database_config(settings),
        "email": lambda: {
            "backend": getattr(settings, "EMAIL_BACKEND", None),
            "host": safe_value("EMAIL_HOST", getattr(settings, "EMAIL_HOST", None)),
            "port": getattr(settings, "EMAIL_PORT", None),
            "user_set": bool(getattr(settings, "EMAIL_HOST_USER", None)),
            "password_set": bool(getattr(settings, "EMAIL_HOST_PASSWORD", None)),
        },
        "flags": lambda: {name: getattr(settings, name, None) for name in ("APPEND_SLASH", "USE_TZ", "TIME_ZONE")},
        # Settings the project's module sets itself, as opposed to Django's defaults (a cache nobody configured).
        "overridden": lambda: {name: settings.is_overridden(name) for name in ("CACHES", "CHANNEL_LAYERS", "STORAGES")},
    }
    found = {}
    for name, gather in parts.items():
        try:
            found[name] = gather()
        except Exception as exc:
            found[name] = {"error": error_info(exc, probe.root)}
    return found


def dotted(value):
    """A class, function or string setting as the dotted path a reader knows."""
    if isinstance(value, str) or value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [dotted(v) for v in value]
    if isinstance(value, dict):
        return {str(k): dotted(v) for k, v in value.items()}
    module, name = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    return f"{module}.{name}" if module and name else repr(value)


def drf_settings(settings) -> dict:
    """The settings DRF really uses: each key from REST_FRAMEWORK, else DRF's default (named as such)."""
    if "rest_framework" not in settings.INSTALLED_APPS:
        return {"installed": False}
    from rest_framework.settings import DEFAULTS

    user = getattr(settings, "REST_FRAMEWORK", None) or {}
    return {
        "installed": True,
        "effective": {key: dotted(user[key] if key in user else DEFAULTS.get(key)) for key in DRF_KEYS},
        "defaults": [key for key in DRF_KEYS if key not in user],
    }


def celery_app(probe) -> dict:
    """The project's Celery app: the module that defines it, its name, config and autodiscovery."""
    Celery = getattr(sys.modules.get("celery"), "Celery", None)
    holders = []  # (module name, file, app): the defining module and those re-exporting it
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if Celery is None or not path.startswith(probe.root + os.sep):
            continue
        holders += [(name, path, value) for value in list(vars(module).values()) if isinstance(value, Celery)]
    for name, path, app in holders:
        source = celery_source(path, probe.root)
        if source["defines_app"] or (name, path, app) == holders[-1]:
            return {**source, **celery_conf(app), "module": name, "imported": True}
    for path in celery_candidates(probe.root):
        found = celery_source(path, probe.root)
        if found.get("defines_app"):
            module = os.path.relpath(path, probe.root)[:-3].replace(os.sep, ".")
            return {**found, "module": module, "imported": False}
    return {"module": None}


def celery_candidates(root: str) -> list:
    """``celery.py`` at the top of the project or in one of its packages (the documented layout)."""
    found = [os.path.join(root, "celery.py")]
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    found += [os.path.join(root, e, "celery.py") for e in entries if os.path.isfile(os.path.join(root, e, "__init__.py"))]
    return [path for path in found if os.path.isfile(path)]


def celery_source(path: str, root: str) -> dict:
    """What the app module's code does, read with ast (never executed here)."""
    info = {"path": os.path.relpath(path, root), "defines_app": False, "autodiscover": False,
            "config_from_object": None, "namespace": None}
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name == "Celery":
            info["defines_app"] = True
        elif name == "autodiscover_tasks":
            info["autodiscover"] = True
        elif name == "config_from_object":
            if node.args and isinstance(node.args[0], ast.Constant):
                info["config_from_object"] = str(node.args[0].value)
            for keyword in node.keywords:
                if keyword.arg == "namespace" and isinstance(keyword.value, ast.Constant):
                    info["namespace"] = str(keyword.value.value)
    return info


def celery_conf(app) -> dict:
    conf = app.conf
    return {
        "main": app.main,
        "broker": mask_url(conf.broker_url) if isinstance(conf.broker_url, str) else conf.broker_url,
        "result_backend": mask_url(conf.result_backend) if isinstance(conf.result_backend, str) else dotted(conf.result_backend),
        "task_serializer": conf.task_serializer,
        "result_serializer": conf.result_serializer,
        "accept_content": list(conf.accept_content or []),
        "always_eager": bool(conf.task_always_eager),
    }


def url_tree() -> dict:
    """The URL modules the root URLconf includes (nested, a few levels) and the API docs views."""
    from django.urls import URLResolver, get_resolver

    modules, docs = [], []

    def walk(resolver, prefix, depth):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                name = pattern.urlconf_name
                label = name if isinstance(name, str) else (getattr(name, "__name__", None) or pattern.app_name)
                if label:  # an inline list of patterns (a router's, an admin model's) is walked, not named
                    modules.append({"module": label, "route": route, "depth": depth})
                if depth < URL_DEPTH:
                    walk(pattern, route, depth + 1)
                continue
            callback = getattr(pattern, "callback", None)
            view = getattr(callback, "view_class", None) or getattr(callback, "cls", None) or callback
            path = f"{getattr(view, '__module__', '')}.{getattr(view, '__qualname__', '')}"
            if path.startswith(DOCS_PACKAGES):
                docs.append({"view": path, "route": route})

    walk(get_resolver(), "", 0)
    return {"modules": modules, "docs": docs}


def database_config(settings) -> dict:
    databases = getattr(settings, "DATABASES", None) or {}
    found = {}
    for alias, config in databases.items():
        test = config.get("TEST") or {}
        engine = config.get("ENGINE") or ""
        test_name = test.get("NAME") or (":memory:" if engine.endswith("sqlite3") else f"test_{config.get('NAME') or ''}")
        found[alias] = {"engine": engine, "test_name": str(test_name), "conn_max_age": config.get("CONN_MAX_AGE", 0)}
    return found
