"""One host's part of a deploy: its transport, settings, the steps it went through (status and
duration each, for the display and the JSON), and how it ended (Ansible's recap words)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..changes import ChangeFailed
from ..masking import scrub
from ..runner import UsageError
from ..transport import TransportError
from .gate import GateRefused
from .hostvars import HostConfig

OK, CHANGED, FAILED, UNREACHABLE, ROLLED_BACK, SKIPPED = "ok", "changed", "failed", "unreachable", "rolled back", "skipped"
STEP_ERRORS = (ChangeFailed, GateRefused, UsageError, OSError)


class StepFailed(Exception):
    """A step of this host failed; its line is already recorded."""


@dataclass
class Step:
    name: str
    status: str
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict:
        return {"step": self.name, "status": self.status, "seconds": round(self.seconds, 3), "detail": self.detail}


@dataclass
class HostDeploy:
    host: object  # inventory Host
    config: HostConfig
    display: object
    transport: object = None
    status: str = OK
    error: str = ""
    steps: list[Step] = field(default_factory=list)
    secrets: set = field(default_factory=set)
    # what the steps found out
    env: dict = field(default_factory=dict)
    facts: object = None
    venv: str = ""
    venv_created: bool = False
    previous: str | None = None
    switched: bool = False
    gate_lines: list[str] = field(default_factory=list)
    plan: dict = field(default_factory=dict)
    created: list = field(default_factory=list)  # folders this run made (--check removes them)
    held: object = None  # the entered lock context
    lock_refused: bool = False
    verify: dict | None = None  # what the browser receives, after the health check (verify_step.py)

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def layout(self):
        return self.config.layout

    def clean(self, text: str) -> str:
        return scrub(" ".join(str(text).split()), self.secrets)

    def step(self, name: str, action: Callable, *, fatal: bool = True):
        """Run one step: shown while it runs, recorded with its status, duration and one line."""
        self.display.step(self.name, name)
        start = time.perf_counter()
        try:
            value = action()
        except TransportError as exc:
            self._record(name, FAILED, start, str(exc))
            self.status, self.error = UNREACHABLE if name == "connect" else FAILED, f"{name}: {self.clean(exc)}"
            raise StepFailed(self.error) from None
        except STEP_ERRORS as exc:
            detail = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
            self._record(name, FAILED, start, detail)
            if fatal:
                self.status, self.error = FAILED, f"{name}: {self.clean(detail)}"
                raise StepFailed(self.error) from None
            return None
        self._record(name, OK, start, value if isinstance(value, str) else "")
        return value

    def _record(self, name: str, status: str, start: float, detail: str) -> None:
        seconds = time.perf_counter() - start
        line = self.clean(detail)[:400]
        self.steps.append(Step(name, status, seconds, line))
        self.display.done(self.name, name, status, seconds, line)

    def skip(self, name: str, why: str) -> None:
        self.steps.append(Step(name, SKIPPED, 0.0, why))
        self.display.done(self.name, name, SKIPPED, 0.0, why)

    def to_dict(self) -> dict:
        return {"host": self.name, "status": self.status, "error": self.error or None,
                "seconds": round(sum(s.seconds for s in self.steps), 3),
                "steps": [s.to_dict() for s in self.steps], "plan": self.plan or None, "verify": self.verify}
