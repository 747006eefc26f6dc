"""Running the project's own tools (manage.py commands, small scripts) in its interpreter, with
the production env, through the transport. Env values travel in the child's environment (local)
and never on a command line."""

from __future__ import annotations

from pathlib import Path

from .masking import scrub, secret_values
from .transport import Result, Transport, TransportError

DBADMIN_SOURCE = (Path(__file__).resolve().parent / "dbadmin.py").read_text(encoding="utf-8")
DBADMIN_MARKER = "@@REMEDIATION-DBADMIN@@"


def manage(transport: Transport, python: str, manage_dir: str, env: dict, *args: str, timeout: float = 1800) -> Result:
    return transport.run([python, "-B", "manage.py", *args], env=env, cwd=manage_dir, timeout=timeout)


def last_error_line(result: Result, env: dict) -> str:
    """The line a person needs from a failed command: the exception at the end, scrubbed."""
    lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
    return scrub(lines[-1].strip() if lines else f"exit status {result.returncode}", secret_values(env))[:300]


def dbadmin(transport: Transport, python: str, config: dict) -> dict:
    """Run remediation/dbadmin.py in the project's interpreter; config (with passwords) via stdin."""
    try:
        return transport.run_script(python, DBADMIN_SOURCE, config, DBADMIN_MARKER, timeout=60)
    except TransportError as exc:
        return {"error": str(exc)}
