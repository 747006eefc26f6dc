"""What a fix-prod run produced: the result of each fix, the files it changed, and what became of
each finding of the audit before (the states of the README: fixed, still open, needs input, new)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..changes import FileChange
from ..findings import Finding
from ..fixes.base import CHANGED, FAILED, NEEDS_INPUT, Outcome

FIXED, STILL_OPEN, NEW, UNKNOWN = "fixed", "still open", "new", "unknown"
# Findings read from the files around the project or before the settings import: the audit
# after still evaluates them when the settings raise. Every other one needs Django's facts.
WITHOUT_SETTINGS = ("git.", "node.", "python.", "env.missing", "env.malformed", "services.no_compose",
                    "services.docker_unavailable", "django.settings_error")


@dataclass
class FixResult:
    name: str
    status: str
    message: str
    repairs: tuple = ()
    needs: list = field(default_factory=list)


@dataclass
class FixRun:
    host: str
    project: str
    check: bool
    fixes: list[FixResult] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)
    before: list[Finding] = field(default_factory=list)
    after: list[Finding] = field(default_factory=list)
    after_facts: dict = field(default_factory=dict)
    run_id: str | None = None
    error: str | None = None
    status: str = "ok"  # ok, unreachable or failed (fleet runs)
    planned_probes: int = 0  # probes of the planned env (the convergence), recorded in the JSON
    notes: list[str] = field(default_factory=list)  # what was deliberately not written, and why
    after_checks: list = field(default_factory=list)  # CheckRun of the audit after (JUnit)
    fingerprint_before: str | None = None  # fleet: the SECRET_KEY's keyed hash in the audit before (drift)

    @property
    def settings_error(self) -> dict | None:
        """The error of the audit after when it could not import the settings: the run's headline."""
        probe = (self.after_facts or {}).get("probe") or {}
        error = probe.get("error")
        if error and error.get("stage") in ("settings", "setup", "probe"):
            return error
        if probe and error is None and not probe.get("settings"):
            return {"stage": "probe", "type": "NoSettings", "message": "the probe returned no settings", "where": None}
        return None

    @property
    def headline(self) -> str | None:
        error = self.settings_error
        if error is None:
            return None
        where = f" at {error['where']}" if error.get("where") else ""
        return (f"the settings do not import under the production env: {error['type']}: {error['message']}{where}; "
                "findings that need them are unknown")

    def finding_states(self) -> list[tuple[Finding, str]]:
        """Each finding of the audit before, and what became of it; new findings after too.

        ``fixed`` only when the audit after really evaluated it: when its settings did not import,
        a finding it could not see is ``unknown``, never ``fixed``.
        """
        after = {f.id: f for f in self.after}
        blind = self.settings_error is not None  # the audit after could not evaluate most checks
        states = []
        for finding in self.before:
            now = after.get(finding.id)
            if now is None and blind and not finding.id.startswith(WITHOUT_SETTINGS):
                states.append((finding, UNKNOWN))
            elif now is None:
                states.append((finding, FIXED))
            elif now.needs:  # it names what a person must supply: an env key or a flag
                states.append((now, NEEDS_INPUT))
            else:
                states.append((now, STILL_OPEN))
        before_ids = {f.id for f in self.before}
        states += [(f, NEW) for f in self.after if f.id not in before_ids]
        return states


def abandon(outcomes: dict, reason: str) -> None:
    """Nothing planned was applied: no fix may claim ``changed``."""
    for name, outcome in outcomes.items():
        if outcome.status == CHANGED:
            outcomes[name] = Outcome(FAILED, f"not applied: {reason}")
