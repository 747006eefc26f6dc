"""JUnit XML, as Jenkins and GitLab show test results: one test suite per host and area, one test
case per check that ran (passed; failed, one ``failure`` per finding: message = id and severity,
body = detail and fix; skipped when the check did not apply, with the reason), so the number of
test cases is the number of checks, not of findings. A waived finding is skipped with its waiver's
reason. The schema is Jenkins' (tests/schemas/jenkins-junit.xsd): ``skipped`` holds text only.

Written with the standard library's ElementTree: the document is a few elements, and it escapes
every attribute and text (project text is data, never markup).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from ..checks.base import AREA_TITLES, FAILED, SKIPPED, CheckRun
from ..findings import Finding, HostReport, Severity
from .findings_text import fix_text, waiver_text


def render(reports: list[HostReport], fail_level: Severity, title: str = "django-remediation audit",
           extra: list[ET.Element] = ()) -> str:
    root = ET.Element("testsuites", name=title)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    suites = [suite for report in reports for suite in host_suites(report, fail_level)] + list(extra)
    for suite in suites:
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def host_suites(report: HostReport, fail_level: Severity) -> list[ET.Element]:
    if report.error and not report.checks and not report.findings:  # a host that was not audited
        suite = ET.Element("testsuite", name=f"{report.host}", tests="1", failures="0", errors="1", skipped="0",
                           hostname=report.host)
        case = ET.SubElement(suite, "testcase", name="audit", classname=report.host)
        ET.SubElement(case, "error", message=f"{report.status}: {report.error or 'no report'}", type=report.status)
        return [suite]
    by_id: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_id[finding.id].append(finding)
    runs = list(report.checks)
    covered = {i for run in runs for i in run.finding_ids}
    # findings no recorded check produced (drift across hosts, --live): one test case per id
    for finding_id, found in by_id.items():
        if finding_id not in covered:
            runs.append(CheckRun(finding_id, found[0].area, FAILED, None, (finding_id,)))
    areas: dict[str, list[CheckRun]] = defaultdict(list)
    for run in runs:
        areas[run.area].append(run)
    return [area_suite(report, area, area_runs, by_id) for area, area_runs in areas.items()]


def area_suite(report: HostReport, area: str, runs: list[CheckRun], by_id: dict) -> ET.Element:
    suite = ET.Element("testsuite", name=f"{report.host} · {AREA_TITLES.get(area, area)}", hostname=report.host,
                       package=area)
    failures = skipped = 0
    for run in runs:
        case = ET.SubElement(suite, "testcase", name=run.name, classname=f"{report.host}.{area}")
        findings = [f for i in dict.fromkeys(run.finding_ids) for f in by_id.get(i, [])]
        open_ = [f for f in findings if not getattr(f, "waiver", None)]
        waived = [f for f in findings if getattr(f, "waiver", None)]
        if run.status == SKIPPED:
            ET.SubElement(case, "skipped").text = f"does not apply: {run.reason}"
            skipped += 1
        elif run.status == FAILED and not open_ and waived:
            ET.SubElement(case, "skipped").text = "; ".join(f"{f.id}: {waiver_text(f.waiver)}" for f in waived)
            skipped += 1
        elif run.status == FAILED:
            for finding in open_:
                failure = ET.SubElement(case, "failure", message=f"{finding.id} ({finding.severity})",
                                        type=str(finding.severity))
                failure.text = f"{finding.title}\n{finding.detail}\nfix: {fix_text(finding)}" + location_line(finding)
            if waived:
                ET.SubElement(case, "system-out").text = "\n".join(f"{f.id}: {waiver_text(f.waiver)}" for f in waived)
            failures += 1
    suite.set("tests", str(len(runs)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    return suite


def location_line(finding: Finding) -> str:
    if not finding.location:
        return ""
    path, line = finding.location
    return f"\nat {path}:{line}" if line else f"\nin {path}"


def fix_suite(run) -> ET.Element:
    """fix-prod's fixes on one host: ok and changed pass, failed and needs input fail, skipped is skipped."""
    suite = ET.Element("testsuite", name=f"{run.host} · fix-prod", hostname=run.host, package="fix-prod")
    failures = skipped = 0
    for fix in run.fixes:
        case = ET.SubElement(suite, "testcase", name=fix.name, classname=f"{run.host}.fix-prod")
        if fix.status in ("failed", "needs input"):
            needs = f"; needs {', '.join(fix.needs)}" if fix.needs else ""
            ET.SubElement(case, "failure", message=f"{fix.name}: {fix.status}", type=fix.status).text = \
                f"{fix.message or ''}{needs}"
            failures += 1
        elif fix.status == "skipped":
            ET.SubElement(case, "skipped").text = fix.message or "skipped"
            skipped += 1
        elif fix.message:
            ET.SubElement(case, "system-out").text = f"{fix.status}: {fix.message}"
    suite.set("tests", str(len(run.fixes)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    return suite
