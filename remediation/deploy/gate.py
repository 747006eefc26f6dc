"""The gate, before anything a user can see changes: the staged release audited under the host's
production env, its database and Redis answering, room on the disk, and (on the migrating host)
the migrations the running release could not survive.

The audit is ours (``remediation/checks``), run on the staged release with the venv it will run
with, so what it says is what production will be. Findings that describe the controller's
checkout rather than the release (git state: checked on the controller; the front end: built on
the controller; Compose and Docker: not how a deploy runs) do not count here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import run_checks
from ..facts import Facts, ProjectError, gather
from ..findings import Finding, Severity
from ..masking import scrub
from ..transport import Transport
from . import hostops

NOT_FOR_A_RELEASE = ("git.", "node.", "services.docker_unavailable", "services.no_compose")
VENV_ESTIMATE = 512 << 20  # a new venv of a typical Django project: measured 150-450 MiB, rounded up


class GateRefused(Exception):
    """The gate said no: nothing was changed where anybody can see."""


@dataclass
class GateResult:
    facts: Facts | None = None
    findings: list[Finding] = field(default_factory=list)
    blockers: list[Finding] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def counts_for_release(finding: Finding) -> bool:
    return not finding.id.startswith(NOT_FOR_A_RELEASE)


def disk(transport: Transport, deploy_to: str, needed: int) -> str:
    free = hostops.free_bytes(transport, deploy_to)
    if free is None:
        raise GateRefused(f"free disk space under {deploy_to}: unknown (df did not answer); refusing to guess")
    if free < needed:
        raise GateRefused(f"not enough disk space under {deploy_to}: {free >> 20} MiB free, "
                          f"{needed >> 20} MiB needed (release, venv and backup)")
    return f"disk: {free >> 20} MiB free, {needed >> 20} MiB needed"


def space_needed(tree_bytes: int, venv_exists: bool, database_bytes: int) -> int:
    return tree_bytes * 2 + (0 if venv_exists else VENV_ESTIMATE) + database_bytes


def audit(transport: Transport, release_dir: str, python: str, env_file: str, allow_blocked: bool) -> GateResult:
    """Our audit of the staged release under the production env; refuses when production is blocked."""
    try:
        facts = gather(release_dir, python=python, env_file=env_file, transport=transport)
    except ProjectError as exc:
        raise GateRefused(f"audit of the release failed: {exc}") from None
    error = facts.probe_error
    if error:
        raise GateRefused(f"the release does not start under the production env: {error.get('type')}: "
                          f"{scrub(str(error.get('message')), facts.secrets())[:300]}")
    result = GateResult(facts=facts, findings=[f for f in run_checks(facts) if counts_for_release(f)])
    result.blockers = [f for f in result.findings if f.severity >= Severity.HIGH and f.matters_in("production")]
    database = facts.database
    if database.get("vendor"):
        state = "answers" if not database.get("error") else f"does not answer ({database['error']})"
        result.lines.append(f"database ({database['vendor']}): {state}")
    for server in facts.probe.get("redis") or []:
        result.lines.append(f"redis {server.get('url')}: {'answers' if server.get('reachable') else 'does not answer'}")
    if result.blockers:
        names = ", ".join(f"{f.id} ({f.severity.name.lower()})" for f in result.blockers[:12])
        more = f" and {len(result.blockers) - 12} more" if len(result.blockers) > 12 else ""
        if not allow_blocked:
            raise GateRefused(f"production is blocked by the audit of this release: {names}{more} "
                              "(invoke audit for details; --allow-blocked to deploy anyway)")
        result.lines.append(f"audit: production blocked ({names}{more}), deploying anyway: --allow-blocked")
    else:
        result.lines.append(f"audit: production ready ({len(result.findings)} finding(s) below high)")
    return result
