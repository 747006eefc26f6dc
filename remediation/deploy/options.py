"""The deploy's flags, checked once before anything runs (bad input: one line, exit 2)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..runner import DEMO_PROJECT, UsageError


@dataclass
class DeployOptions:
    project: str | None = None
    ref: str | None = None
    serial: str | None = None
    max_fail_percentage: float | None = None
    check: bool = False
    keep: int = 5
    allow_blocked: bool = False
    allow_unsafe_migrations: bool = False
    fetch_backup: str | None = None
    frontend: str = "auto"  # auto | skip
    progress: bool = True
    health_attempts: int = 10
    health_interval: float = 1.0
    setup: bool = False  # the nginx site and service files for the live release; no new release (setup.py)

    def __post_init__(self):
        self.project = os.path.abspath(os.path.expanduser(self.project or str(DEMO_PROJECT)))
        if not os.path.isdir(self.project):
            raise UsageError(f"--project: {self.project}: no such folder")
        try:
            self.keep = int(self.keep)
        except (TypeError, ValueError):
            raise UsageError(f"--keep: {self.keep!r} is not a number") from None
        if self.keep < 1:
            raise UsageError("--keep must be at least 1")
        if self.max_fail_percentage is not None:
            try:
                self.max_fail_percentage = float(self.max_fail_percentage)
            except (TypeError, ValueError):
                raise UsageError(f"--max-fail-percentage: {self.max_fail_percentage!r} is not a number") from None
            if not 0 <= self.max_fail_percentage <= 100:
                raise UsageError("--max-fail-percentage must be between 0 and 100")
        if self.frontend not in ("auto", "skip"):
            raise UsageError("--frontend must be auto or skip")
        if self.setup and self.check:
            raise UsageError("--setup and --check: choose one (--check plans a release; --setup ships none)")

    def app_name(self) -> str:
        return os.path.basename(self.project.rstrip("/")) or "app"
