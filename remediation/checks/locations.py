"""The file and line a finding is about, from what the facts know (SARIF's physical locations).

A finding about a setting points at the line of the settings that assigns it (found by the probe
with ``ast``: remediation/probe/sources.py), or at the settings file when nothing assigns it; a
finding about an environment variable at its line in the env file, else where the settings read
it; a requirement at its line in the requirements file; a migration at its file. A check that
knows better sets ``location`` itself (the secret scan: the committed file); it is kept.
Paths are relative to the project root; a file outside it keeps its absolute path.
"""

from __future__ import annotations

import os
from dataclasses import replace

from ..findings import Finding, Location

# finding id -> the setting it is about
SETTING_OF = {
    "env.debug": "DEBUG",
    "env.secret_key": "SECRET_KEY",
    "env.allowed_hosts": "ALLOWED_HOSTS",
    "env.environment": "ENVIRONMENT",
    "security.ssl_redirect": "SECURE_SSL_REDIRECT",
    "security.hsts": "SECURE_HSTS_SECONDS",
    "security.hsts_subdomains": "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "security.hsts_preload": "SECURE_HSTS_PRELOAD",
    "security.session_cookie_secure": "SESSION_COOKIE_SECURE",
    "security.csrf_cookie_secure": "CSRF_COOKIE_SECURE",
    "security.content_type_nosniff": "SECURE_CONTENT_TYPE_NOSNIFF",
    "django.cors_allow_all": "CORS_ALLOW_ALL_ORIGINS",
    "django.cors_local": "CORS_ALLOWED_ORIGINS",
    "django.static_root": "STATIC_ROOT",
    "django.static_not_collected": "STATIC_ROOT",
    "django.media_local": "MEDIA_ROOT",
    "django.debug_toolbar": "INSTALLED_APPS",
    "database.sqlite": "DATABASES",
    "database.unreachable": "DATABASES",
    "cache.local": "CACHES",
    "channels.in_memory": "CHANNEL_LAYERS",
    "channels.no_asgi_application": "ASGI_APPLICATION",
    "channels.daphne_disabled": "INSTALLED_APPS",
    "celery.no_broker": "CELERY_BROKER_URL",
    "celery.pickle": "CELERY_TASK_SERIALIZER",
    "celery.eager": "CELERY_TASK_ALWAYS_EAGER",
    "rest_framework.allow_any": "REST_FRAMEWORK",
    "rest_framework.no_throttling": "REST_FRAMEWORK",
    "rest_framework.no_pagination": "REST_FRAMEWORK",
}
# finding id -> the environment variable it is about (external.* name theirs in ``needs``)
VARIABLE_OF = {"env.database_url": "DATABASE_URL"}


def locate(facts, finding: Finding) -> Finding:
    if finding.location is not None:
        return finding
    try:
        location = find(facts, finding)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):  # odd facts cost the location only
        location = None
    return replace(finding, location=location) if location else finding


def find(facts, finding: Finding) -> Location | None:
    if finding.id in SETTING_OF:
        return setting_location(facts, SETTING_OF[finding.id])
    variables = [key for key in finding.needs if not key.startswith("--")]
    if finding.id in VARIABLE_OF:
        variables = [VARIABLE_OF[finding.id]]
    elif finding.id == "env.local_url":
        from .environment import local_public_urls

        variables = [name for name, _, _ in local_public_urls(facts)]
    if variables:
        return variable_location(facts, variables[0])
    if finding.id in ("python.missing", "python.version_mismatch"):
        return requirement_location(facts, finding.detail)
    if finding.id in ("database.migrations_unapplied", "database.migration_conflict"):
        files = facts.migrations.get("files") or {}
        first = next(iter(files.values()), None)
        return Location(from_manage_dir(facts, first)) if first else None
    if finding.id == "env.malformed" and facts.env.path and facts.env.errors:
        line = facts.env.errors[0].rsplit(": cannot parse", 1)[0].rsplit(":", 1)[-1]
        return Location(project_path(facts, str(facts.env.path)), int(line))
    if finding.id.startswith("node.") and facts.node.package_json:
        return Location(facts.node.package_json)
    if finding.id == "env.missing" or finding.id.startswith("git."):
        return None
    where = (facts.probe_error or {}).get("where") if finding.id.startswith("django.settings") else None
    return where_location(facts, where) if where else None


def project_path(facts, path: str) -> str:
    """A host path relative to the project root when inside it."""
    root = str(facts.root)
    if os.path.isabs(path) and (path + os.sep).startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(path, root)
    return path


def from_manage_dir(facts, path: str) -> str:
    """A path the probe reported relative to the folder of manage.py, relative to the project root."""
    return project_path(facts, os.path.normpath(os.path.join(str(facts.manage_dir), path)))


def setting_location(facts, name: str) -> Location | None:
    source = facts.probe.get("settings_source") or {}
    assigned = (source.get("assignments") or {}).get(name)
    if assigned:
        return Location(from_manage_dir(facts, assigned[0]), int(assigned[1]))
    return Location(from_manage_dir(facts, source["file"])) if source.get("file") else None


def variable_location(facts, name: str) -> Location | None:
    line = facts.env.lines.get(name)
    if line and facts.env.path:
        return Location(project_path(facts, str(facts.env.path)), line)
    read = (facts.env_reads or {}).get(name) or {}
    return where_location(facts, read.get("where")) if read.get("where") else setting_location(facts, name)


def where_location(facts, where: str) -> Location | None:
    """``path:line`` as the probe reports places (relative to manage.py's folder)."""
    path, _, line = where.rpartition(":")
    if not path or not line.isdigit():
        return None
    return Location(from_manage_dir(facts, path), int(line))


def requirement_location(facts, detail: str) -> Location | None:
    """The line of the first requirement the detail names."""
    places = facts.requirement_places or {}
    named = sorted(((detail.find(r["name"]), r["name"].lower()) for r in facts.requirements if r["name"] in detail))
    for _, name in named:
        if name in places:
            return Location(*places[name])
    return None
