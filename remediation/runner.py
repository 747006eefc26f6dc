"""The per-host pipeline: gather facts, run the checks, build the host's report."""

from __future__ import annotations

from pathlib import Path

from .checks import run_checks
from .facts import ProjectError, gather
from .findings import HostReport
from .transport import Local, TransportError
from . import resources

DEMO_PROJECT = resources.DEMO_PROJECT


class UsageError(Exception):
    """Bad input on the command line or about the project: one line, exit status 2."""


def audit_project(project: str | Path | None = None, python: str | None = None, env_file: str | None = None,
                  transport=None, fingerprint_key: str | None = None) -> tuple[HostReport, set[str]]:
    """Audit one project on one host. Returns the report and the secret values its output must not contain."""
    transport = transport or Local()
    try:
        project = transport.project_path(project, DEMO_PROJECT)
    except TransportError as exc:
        raise UsageError(str(exc)) from None
    try:
        facts = gather(project, python=python, env_file=env_file, transport=transport, fingerprint_key=fingerprint_key)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None
    error = facts.probe_error
    if error and error["stage"] == "django":
        raise UsageError(f"{facts.python}: Django is not importable ({error['type']}: {error['message']}); "
                         "give the project's interpreter with --python (a .venv or venv beside the project is found by itself)")
    checks: list = []
    report = HostReport(host=facts.host, project=str(facts.root), findings=run_checks(facts, checks), facts=facts.to_dict(),
                        checks=checks)
    return report, facts.secrets()
