"""Checks: one module per area of the seed report, each check a pure ``facts -> [Finding]``.

``AREAS`` keeps the seed report's section order; reports group findings by it. ``run_checks`` can
record each check's outcome (passed, failed, skipped when it does not apply: JUnit's test cases) and
gives each finding the file and line it is about where the facts know them (SARIF's locations).
"""

from __future__ import annotations

from . import (
    api,
    cache,
    celery,
    channels,
    database,
    django_config,
    environment,
    git,
    git_secrets,
    node,
    python_deps,
    rest_framework,
    security,
    services,
)

from .base import FAILED, PASSED, SKIPPED, CheckRun, not_applicable
from .locations import locate

MODULES = (git, git_secrets, services, environment, python_deps, node, database, django_config, rest_framework, cache, celery, channels, api, security)


def run_checks(facts, record: list | None = None) -> list:
    """Every finding for one project, in area order. A probe failure leaves only what still applies.

    ``record`` (a list) receives one ``CheckRun`` per check, in the same order."""
    findings = []
    for module in MODULES:
        area = getattr(getattr(module, "finding", None), "keywords", {}).get("area") or module.__name__.rsplit(".", 1)[-1]
        for check in module.CHECKS:
            reason = not_applicable(check, facts)
            found = [] if reason else [locate(facts, f) for f in check(facts)]
            findings.extend(found)
            if record is not None:
                status = SKIPPED if reason else FAILED if found else PASSED
                record.append(CheckRun(check.__name__, area, status, reason, tuple(f.id for f in found)))
    return findings
