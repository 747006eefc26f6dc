"""The machine-readable report; its schema is documented in the README."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

from ..findings import HostReport, Severity, blocked
from .rows import area_rows

SCHEMA_VERSION = 1


def host_entry(report: HostReport, fail_level: Severity) -> dict:
    counts = Counter(str(f.severity) for f in report.findings)
    return {
        "host": report.host,
        "project": report.project,
        "status": report.status,
        "error": report.error,
        "verdict": report.verdict.to_dict(),
        "blocked": blocked(report.findings, fail_level),
        "summary": {str(s): counts.get(str(s), 0) for s in sorted(Severity, reverse=True)},
        "waived": sum(1 for f in report.findings if f.waiver),
        "needs_input": report.needs_input,
        "findings": [f.to_dict() for f in report.findings],
        "rows": {area: [row.to_dict() for row in rows] for area, rows in area_rows(report.facts, report.findings).items()},
        "facts": report.facts,
    }


def render(reports: list[HostReport], fail_level: Severity) -> str:
    document = {
        "schema": SCHEMA_VERSION,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fail_level": str(fail_level),
        "blocked": any(blocked(r.findings, fail_level) for r in reports),
        "hosts": [host_entry(r, fail_level) for r in reports],
    }
    return json.dumps(document, indent=2, default=str) + "\n"
