"""Running the console script from the checkout (``django-remediation`` as pip installs it: invoke's
Program over remediation.tasks.ns) in a folder of the test's choosing, and config files to run it with."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, Run

PROGRAM = "import sys; from remediation.program import program; program.run(['django-remediation', *sys.argv[1:]])"


def remediate(*args: str, cwd: Path, timeout: float = 300) -> Run:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REMEDIATION_"))}
    environ["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", PROGRAM, *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


def days(n: int) -> str:
    """The date n days from today, as a waiver's expires."""
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()
