"""SARIF 2.1.0, as GitHub code scanning shows it: one rule per finding id (title, level, numeric
``security-severity``, help with the fix), one result per finding at its file and line where the
facts know them (``Finding.location``: remediation/checks/locations.py), else at its host and area
(a logical location). ``partialFingerprints`` hash the id, the host and the file, not the line, so
code scanning tracks a finding across runs and across edits that move it. A waived finding carries
a ``suppressions`` entry (kind external, the waiver's reason). Validated against the SARIF 2.1.0
schema in the tests (tests/schemas/).

Built as plain dicts and ``json``: the SARIF object model packages wrap the same dicts in classes
without validating them, so they would add a dependency and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections import Counter
from importlib import metadata
from urllib.parse import quote

from ..findings import Finding, HostReport, Location, Severity
from .findings_text import fix_text, waiver_text

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
          Severity.INFO: "note"}
# GitHub's bands: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0",
                     Severity.INFO: "0.0"}


def tool_version() -> str:
    try:
        return metadata.version("django-remediation")
    except metadata.PackageNotFoundError:
        return "0"


def render(reports: list[HostReport], fail_level: Severity, command: str = "audit") -> str:
    rules: dict[str, dict] = {}
    results, notifications = [], []
    base = base_uri(reports)
    for report in reports:
        if report.error and not report.findings:  # a host that was not audited
            notifications.append({"level": "error", "message": {"text": f"{report.host}: {report.status}: "
                                                                         f"{report.error or 'no report'}"}})
            continue
        prefix = repository_prefix(report)
        seen: Counter = Counter()
        for finding in report.findings:
            if finding.id not in rules:
                rules[finding.id] = rule(finding)
            results.append(result(report, finding, prefix, list(rules).index(finding.id), seen))
    run = {
        "tool": {"driver": {"name": "django-remediation", "version": tool_version(),
                            "rules": list(rules.values())}},
        "automationDetails": {"id": f"django-remediation/{command}/"},
        "results": results,
        "invocations": [{"executionSuccessful": not notifications,
                         "toolExecutionNotifications": notifications,
                         "properties": {"failLevel": str(fail_level)}}],
    }
    if base:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": base}}
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"


def rule(finding: Finding) -> dict:
    fix = fix_text(finding)
    tags = list(dict.fromkeys(["django", finding.area] + (["security"] if finding.severity >= Severity.LOW else [])))
    return {
        "id": finding.id,
        "name": "".join(part.title() for part in finding.id.replace(".", "_").split("_")),
        "shortDescription": {"text": finding.title},
        "fullDescription": {"text": f"{finding.title} (area {finding.area}; matters from {finding.applies_from} on)"},
        "help": {"text": f"Fix: {fix}", "markdown": f"**Fix:** {fix}"},
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[finding.severity], "tags": tags,
                       "problem.severity": LEVELS[finding.severity], "precision": "high"},
    }


def result(report: HostReport, finding: Finding, prefix: str | None, index: int, seen: Counter) -> dict:
    location = Location(*finding.location) if finding.location else None
    logical = {"name": finding.area, "fullyQualifiedName": f"{report.host}/{finding.area}", "kind": "module"}
    entry: dict = {"logicalLocations": [logical]}
    if location is not None:
        entry["physicalLocation"] = physical(location, prefix)
    key = "|".join((finding.id, report.host, location.path if location else finding.area))
    seen[key] += 1
    digest = hashlib.sha256(f"{key}|{seen[key]}".encode()).hexdigest()
    data = {
        "ruleId": finding.id,
        "ruleIndex": index,
        "level": LEVELS[finding.severity],
        "message": {"text": f"{finding.title}: {finding.detail}"},
        "locations": [entry],
        "partialFingerprints": {"djangoRemediation/v1": digest},
        "properties": {"host": report.host, "project": report.project, "severity": str(finding.severity),
                       "appliesFrom": finding.applies_from, "djangoIds": list(finding.django_ids),
                       "needs": list(finding.needs)},
    }
    waiver = getattr(finding, "waiver", None)
    if waiver:
        data["suppressions"] = [{"kind": "external", "status": "accepted", "justification": waiver_text(waiver)}]
    return data


def physical(location: Location, prefix: str | None) -> dict:
    path = location.path
    if os.path.isabs(path):
        artifact = {"uri": "file://" + quote(path)}
    else:
        relative = posixpath.join(prefix, path) if prefix else path
        artifact = {"uri": quote(relative.replace(os.sep, "/")), "uriBaseId": SRCROOT}
    place: dict = {"artifactLocation": artifact}
    if location.line:
        place["region"] = {"startLine": int(location.line)}
    return place


def repository_prefix(report: HostReport) -> str | None:
    """The project root relative to its git work tree (uris are relative to the repository root)."""
    root = report.facts.get("root")
    git_root = (report.facts.get("git") or {}).get("root")
    if not root or not git_root:
        return None
    relative = os.path.relpath(os.path.realpath(root), os.path.realpath(git_root))
    return None if relative in (".", "") or relative.startswith("..") else relative


def base_uri(reports: list[HostReport]) -> str | None:
    """%SRCROOT% as a file URI when every host is this machine and shares one root (else left to the viewer)."""
    roots = set()
    for report in reports:
        if report.host != "localhost" or not report.facts.get("root"):
            return None
        git_root = (report.facts.get("git") or {}).get("root")
        prefix = repository_prefix(report)
        roots.add(git_root if prefix else report.facts["root"])
    if len(roots) != 1:
        return None
    return "file://" + quote(os.path.realpath(roots.pop()).rstrip("/") + "/")
