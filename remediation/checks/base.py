"""What every check module shares: the areas, a finding factory, and Django's reported ids."""

from __future__ import annotations

from functools import partial

from ..findings import MANUAL, Finding, Severity

# (key, seed section number, title) in the seed report's order.
AREAS = (
    ("git", 1, "Git status"),
    ("services", 2, "Docker & services"),
    ("env", 3, "Environment variables"),
    ("python", 4, "Python dependencies"),
    ("node", 5, "Node.js dependencies"),
    ("database", 6, "Database configuration"),
    ("django", 7, "Django configuration"),
    ("rest_framework", 8, "REST framework configuration"),
    ("cache", 9, "Caching & Redis"),
    ("celery", 10, "Celery & task queue"),
    ("channels", 11, "Django Channels (WebSockets)"),
    ("api", 12, "API endpoints"),
    ("security", 13, "Production security"),
    ("drift", 14, "Drift across hosts"),
    ("live", 15, "Edge (what the browser receives)"),  # only with audit --live (remediation/verify)
)
AREA_TITLES = {key: title for key, _, title in AREAS}

CRITICAL, HIGH, MEDIUM, LOW, INFO = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFO,
)

__all__ = ["AREAS", "AREA_TITLES", "MANUAL", "Finding", "finding_for", "reported", "django_ready"]
__all__ += ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]


def finding_for(area: str):
    """A Finding constructor with the area filled in, so each module names it once."""
    return partial(Finding, area=area)


def reported(facts, *ids: str) -> tuple[str, ...]:
    """Those of ``ids`` that Django's own check framework reported for this project."""
    seen = {m["id"] for m in facts.checks.get("messages", [])}
    return tuple(i for i in ids if i in seen)


def django_ready(facts) -> bool:
    """Settings imported and apps loaded: the Django facts exist."""
    return facts.probe_error is None and bool(facts.settings)


def shown_path(facts, path: str) -> str:
    """A path as the reader thinks of it: relative to the project root when inside it."""
    import os

    if path and os.path.isabs(path) and path.startswith(str(facts.root) + os.sep):
        return os.path.relpath(path, facts.root)
    return path


def installed_app(facts, name: str) -> bool:
    return any(app == name or app.startswith(name + ".") for app in facts.settings.get("INSTALLED_APPS", []))


def component_used(facts, name: str, fallback: bool) -> bool:
    """The probe's verdict on whether the project uses a component (cache, celery, channels,
    rest_framework), with its evidence; ``fallback`` for a probe document that lacks it."""
    components = facts.settings.get("COMPONENTS")
    if not isinstance(components, dict) or name not in components:
        return fallback
    return bool(components[name].get("used"))
