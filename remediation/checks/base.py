"""What every check module shares: the areas, a finding factory, and Django's reported ids."""

from __future__ import annotations

from dataclasses import dataclass
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
__all__ += ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "CheckRun", "applies_when", "DJANGO", "GIT_REPO", "GIT_READ", "uses", "app_installed"]


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


# --- which checks ran, and which did not apply (JUnit's test cases: remediation/report/junit.py) --------------

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class CheckRun:
    """One check on one host: ``passed`` (ran, found nothing), ``failed`` (ran, found ``finding_ids``)
    or ``skipped`` (did not apply: ``reason`` says why, e.g. Django's settings could not be read)."""

    name: str
    area: str
    status: str
    reason: str | None = None
    finding_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "area": self.area, "status": self.status, "reason": self.reason,
                "finding_ids": list(self.finding_ids)}


def applies_when(*conditions):
    """Declare what a check needs to mean anything: ``(predicate(facts), reason)`` pairs. The runner
    skips the check with the first failing pair's reason; called directly the check still guards itself."""

    def mark(check):
        check.applies = tuple(conditions)
        return check

    return mark


def not_applicable(check, facts) -> str | None:
    """The reason ``check`` does not apply to these facts, or None when it does."""
    for predicate, reason in getattr(check, "applies", ()):
        if not predicate(facts):
            return reason
    return None


DJANGO = (django_ready, "Django's settings could not be read")
GIT_REPO = (lambda facts: facts.git.is_repo, "not a git work tree")
GIT_READ = (lambda facts: not facts.git.error, "the git state could not be read")


def uses(component: str, fallback=lambda facts: True):
    """The project uses ``component`` (the probe's evidence; ``fallback(facts)`` without it)."""
    return (lambda facts: component_used(facts, component, fallback(facts)), f"the project does not use {component}")


def app_installed(name: str):
    return (lambda facts: installed_app(facts, name), f"{name} is not in INSTALLED_APPS")
