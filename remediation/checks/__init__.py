"""Checks: one module per area of the seed report, each check a pure ``facts -> [Finding]``.

``AREAS`` keeps the seed report's section order; reports group findings by it.
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

MODULES = (git, git_secrets, services, environment, python_deps, node, database, django_config, rest_framework, cache, celery, channels, api, security)


def run_checks(facts) -> list:
    """Every finding for one project, in area order. A probe failure leaves only what still applies."""
    findings = []
    for module in MODULES:
        for check in module.CHECKS:
            findings.extend(check(facts))
    return findings
