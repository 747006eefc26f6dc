"""Findings: what a check says about a project, and how severe it is.

A finding id is stable and never reused (as Django's check ids are); the README's findings
table documents every one. Where Django's own check framework reported the same problem, its
ids travel along in ``django_ids`` so users can cross-reference ``manage.py check --deploy``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import NamedTuple

ENVIRONMENTS = ("development", "staging", "production")


class Severity(IntEnum):
    INFO = 10
    LOW = 20
    MEDIUM = 30
    HIGH = 40
    CRITICAL = 50

    @classmethod
    def parse(cls, name: str) -> "Severity":
        try:
            return cls[name.strip().upper()]
        except KeyError:
            choices = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {name!r} (choose from {choices})") from None

    def __str__(self) -> str:
        return self.name.lower()


MANUAL = "manual"


class Location(NamedTuple):
    """Where a finding is written: a file relative to the project root, and its line when known
    (SARIF's physical location; remediation/checks/locations.py fills it in)."""

    path: str
    line: int | None = None


@dataclass(frozen=True)
class Finding:
    """One problem found in one project.

    ``fix`` names the fix module that repairs it, or ``manual`` when only a person can supply
    what is missing; ``needs`` then lists exactly which values (env keys) that person must give.
    ``applies_from`` is the first environment in which the problem matters: a development-only
    project can live with an insecure key, staging cannot live with SQLite, and so on.
    """

    id: str
    severity: Severity
    area: str
    title: str
    detail: str
    fix: str
    applies_from: str = "production"
    django_ids: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    location: Location | None = None
    # A waiver in force (reason, expires, host: remediation/waivers.py): reported, never blocking.
    waiver: dict | None = field(default=None, hash=False)
    expired_waiver: dict | None = field(default=None, hash=False)  # blocks again; the report says so

    def matters_in(self, environment: str) -> bool:
        return ENVIRONMENTS.index(environment) >= ENVIRONMENTS.index(self.applies_from)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["django_ids"] = list(self.django_ids)
        data["needs"] = list(self.needs)
        data["location"] = dict(Location(*self.location)._asdict()) if self.location else None
        return data


@dataclass
class Verdict:
    development: str
    staging: str
    production: str

    def to_dict(self) -> dict:
        return {env: getattr(self, env) for env in ENVIRONMENTS}


READY, PARTIAL, NOT_READY = "ready", "partial", "not ready"


def verdict_for(findings: list[Finding]) -> Verdict:
    """The readiness rule documented in the README.

    For each environment only the findings that matter there count (``applies_from``):
    - not ready: one of them is critical, or (production only) high;
    - partial: one of them is high or medium;
    - ready: otherwise (low and info findings never block).
    Waived findings do not count.
    """

    def one(environment: str) -> str:
        relevant = [f.severity for f in findings if f.matters_in(environment) and not f.waiver]
        worst = max(relevant, default=Severity.INFO)
        blocking = Severity.HIGH if environment == "production" else Severity.CRITICAL
        if worst >= blocking:
            return NOT_READY
        if worst >= Severity.MEDIUM:
            return PARTIAL
        return READY

    return Verdict(*(one(env) for env in ENVIRONMENTS))


def blocked(findings: list[Finding], fail_level: Severity) -> bool:
    """True when production is blocked at ``fail_level``: the exit status CI gates on. A waived
    finding does not block (its waiver is in force)."""
    return any(f.severity >= fail_level and f.matters_in("production") and not f.waiver for f in findings)


@dataclass
class HostReport:
    """Everything the report writers need for one host."""

    host: str
    project: str
    findings: list[Finding] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    error: str | None = None
    status: str = "ok"  # ok, unreachable or failed (fleet runs)
    checks: list = field(default_factory=list)  # CheckRun records: which checks ran, passed, did not apply

    @property
    def verdict(self) -> Verdict:
        return verdict_for(self.findings)

    @property
    def needs_input(self) -> list[str]:
        """Every value only a person can supply, by env key (flags such as --domain are not keys)."""
        return sorted({key for f in self.findings for key in f.needs if not key.startswith("--")})
