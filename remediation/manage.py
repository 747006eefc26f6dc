"""Running the project's own tools (manage.py commands, small scripts) in its interpreter, with
the production env, through the transport. Env values travel in the child's environment (local)
and never on a command line."""

from __future__ import annotations

import json
from pathlib import Path

from .probe import scrub, secret_values
from .transport import Result, Transport

DBADMIN_SOURCE = (Path(__file__).resolve().parent / "dbadmin.py").read_text(encoding="utf-8")
DBADMIN_MARKER = "@@REMEDIATION-DBADMIN@@"
# Reads the config line and the source from stdin, then runs the source with the config line put back.
READER = (
    "import sys, io; config = sys.stdin.readline(); source = sys.stdin.read(); "
    "sys.stdin = io.StringIO(config); exec(compile(source, 'remediation-dbadmin.py', 'exec'), {'__name__': '__main__'})"
)


def manage(transport: Transport, python: str, manage_dir: str, env: dict, *args: str, timeout: float = 1800) -> Result:
    return transport.run([python, "-B", "manage.py", *args], env=env, cwd=manage_dir, timeout=timeout)


def last_error_line(result: Result, env: dict) -> str:
    """The line a person needs from a failed command: the exception at the end, scrubbed."""
    lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
    return scrub(lines[-1].strip() if lines else f"exit status {result.returncode}", secret_values(env))[:300]


def dbadmin(transport: Transport, python: str, config: dict) -> dict:
    """Run remediation/dbadmin.py in the project's interpreter; config (with passwords) via stdin."""
    payload = json.dumps(config) + "\n" + DBADMIN_SOURCE
    result = transport.run([python, "-B", "-c", READER], input=payload, timeout=60)
    marker = result.stdout.rfind(DBADMIN_MARKER)
    if marker < 0:
        return {"error": (result.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(result.stdout[marker + len(DBADMIN_MARKER):])

