"""A ``--python`` that stops a run at a chosen step, so a test acts while the run is certainly
inside that step (no sleep decides it): the wrapper creates ``reached`` before the step, then
waits for ``go`` (run the step) or ``stop`` (exit 1 without running it)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Gate:
    python: Path
    reached: Path
    go: Path
    stop: Path

    def wait(self, proc=None, timeout: float = 180) -> None:
        """Until the run is inside the step; fails if the run ends first or never gets there."""
        deadline = time.monotonic() + timeout
        while not self.reached.exists():
            if proc is not None and proc.poll() is not None:
                pytest.fail(f"the run ended before the gate: {proc.returncode} {proc.stderr.read()[-800:]}")
            assert time.monotonic() < deadline, "the run never reached the gate"
            time.sleep(0.05)


def gated_python(folder: Path, step: str = "migrate") -> Gate:
    """An interpreter that stops before any command with the argument ``step``."""
    gate = Gate(folder / "python", folder / f"{step}-reached", folder / f"{step}-go", folder / f"{step}-stop")
    gate.python.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        f'  if [ "$arg" = {step} ]; then\n'
        f"    : > {gate.reached}\n"
        f"    while [ ! -e {gate.go} ]; do [ -e {gate.stop} ] && exit 1; sleep 0.05; done\n"
        "  fi\n"
        "done\n"
        f'exec {sys.executable} "$@"\n')
    gate.python.chmod(0o755)
    return gate
