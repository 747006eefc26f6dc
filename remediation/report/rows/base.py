"""What every row builder shares: the states, a view over the facts, and small formatters."""

from __future__ import annotations

import os

OK, WARNING, ERROR, UNKNOWN, NOT_USED = "ok", "warning", "error", "unknown", "not used"
NOT_IMPORTED = "settings did not import"


class View:
    """The facts as the builders read them; every getter tolerates a fact that was never gathered."""

    def __init__(self, facts: dict, by_id: dict, needs: dict):
        self.facts = facts
        self.by_id = by_id
        self.needs = needs
        self.probe = facts.get("probe") or {}
        self.settings = self.probe.get("settings") or {}
        self.config = self.probe.get("configuration") or {}
        self.root = facts.get("root") or ""

    @property
    def django_ready(self) -> bool:
        """Settings imported and apps loaded: the Django facts exist."""
        return not self.probe.get("error") and bool(self.settings)

    def part(self, name: str) -> dict | None:
        """A part of the probe's configuration document, or None when it was not gathered or failed."""
        found = self.config.get(name)
        return None if not isinstance(found, dict) or "error" in found else found

    def rel(self, path) -> str:
        if path and os.path.isabs(str(path)) and str(path).startswith(self.root.rstrip(os.sep) + os.sep):
            return os.path.relpath(str(path), self.root)
        return str(path) if path else ""

    def version(self, name: str) -> str | None:
        return (self.probe.get("packages") or {}).get(name)

    def looked_up(self, name: str) -> bool:
        return name in (self.probe.get("packages") or {})

    def installed_app(self, name: str) -> bool:
        return any(app == name or app.startswith(name + ".") for app in self.settings.get("INSTALLED_APPS") or [])

    def unknown_django(self, component: str, ids=()) -> tuple:
        return (component, UNKNOWN, self.probe_failure(), tuple(ids))

    def probe_failure(self) -> str:
        error = self.probe.get("error")
        if error:
            return f"{NOT_IMPORTED} ({error.get('type')})" if error.get("type") else NOT_IMPORTED
        return "not gathered"


def short(dotted) -> str:
    """The last part of a dotted path: ``rest_framework.permissions.IsAuthenticated`` -> IsAuthenticated."""
    return str(dotted).rsplit(".", 1)[-1] if dotted else "none"


def listing(values, empty: str = "none") -> str:
    values = [str(v) for v in values or []]
    return ", ".join(values) if values else empty


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
