"""The report of ``invoke verify``: per URL the live area's rows (what the browser received) and its
findings, in text (rich), markdown (templates/verify.md.j2) or json; scrubbed of every cookie value
seen, like every report (remediation/report)."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date, datetime, timezone

from rich.console import Console
from rich.markup import escape

from ..findings import HostReport, Severity, blocked
from ..masking import scrub
from ..report.markdown import ICONS, environment
from ..report.rows import Row, resolve
from ..report.text import VERDICT_STYLE, write_findings, write_rows
from .rules import evaluate

AREA_TITLE = "Edge (what the browser receives)"
FORMATS = ("text", "markdown", "json", "junit", "sarif")


def live_rows(observations: list[dict], findings, prefix: bool = False) -> list[Row]:
    """The rows of every observed URL, their status decided by the findings that concern them."""
    by_id = {f.id: f for f in findings}
    rows = []
    for obs in observations:
        specs, _ = evaluate(obs)
        for component, state, detail, ids in specs:
            label = f"{obs['url']} {component}" if prefix else component
            rows.append(resolve((label, state, detail, ids), by_id))
    return rows


def rows_of(report: HostReport) -> list[Row]:
    return live_rows(report.facts["live"]["urls"], report.findings)


def render_text(reports: list[HostReport], fail_level: Severity, color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False)
    for report in reports:
        console.rule(f"[bold]{escape(AREA_TITLE)}: {escape(report.project)}")
        write_rows(console, f"{escape(report.project)}", rows_of(report))
        if report.findings:
            write_findings(console, "findings", report.findings)
        else:
            console.print("[green]✔[/] no findings")
        verdict = report.verdict.production
        state = "BLOCKED" if blocked(report.findings, fail_level) else "not blocked"
        console.print(f"Production: [{VERDICT_STYLE.get(verdict, 'green')}]{verdict}[/], {state} at fail level "
                      f"{fail_level} ({len(report.findings)} findings)")
    if len(reports) > 1:
        console.rule("[bold]RECAP")
        for report in reports:
            console.print(f"{report.project:<50} : {report.status:<11} findings={len(report.findings):<3} "
                          f"blocked={'yes' if blocked(report.findings, fail_level) else 'no'}", markup=False)
    return buffer.getvalue()


def render_markdown(reports: list[HostReport], fail_level: Severity) -> str:
    entries = [{"report": r, "rows": rows_of(r), "blocked": blocked(r.findings, fail_level),
                "findings": sorted(r.findings, key=lambda f: -f.severity)} for r in reports]
    return environment().get_template("verify.md.j2").render(entries=entries, icons=ICONS, title=AREA_TITLE,
                                                            today=date.today().isoformat(), fail_level=str(fail_level))


def render_json(reports: list[HostReport], fail_level: Severity) -> str:
    entries = []
    for report in reports:
        counts = Counter(str(f.severity) for f in report.findings)
        entries.append({
            "url": report.project,
            "status": report.status,
            "verdict": report.verdict.to_dict(),
            "blocked": blocked(report.findings, fail_level),
            "summary": {str(s): counts.get(str(s), 0) for s in sorted(Severity, reverse=True)},
            "findings": [f.to_dict() for f in report.findings],
            "rows": [row.to_dict() for row in rows_of(report)],
            "observed": report.facts["live"]["urls"][0],
        })
    document = {"schema": 1, "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "fail_level": str(fail_level), "blocked": any(e["blocked"] for e in entries), "urls": entries}
    return json.dumps(document, indent=2, default=str) + "\n"


def render(fmt: str, reports: list[HostReport], fail_level: Severity, secrets: set[str], color: bool = False) -> str:
    if fmt == "text":
        text = render_text(reports, fail_level, color)
    elif fmt == "markdown":
        text = render_markdown(reports, fail_level)
    elif fmt == "junit":
        from ..report import junit

        text = junit.render(reports, fail_level, title="django-remediation verify")
    elif fmt == "sarif":
        from ..report import sarif

        text = sarif.render(reports, fail_level, command="verify")
    else:
        text = render_json(reports, fail_level)
    return scrub(text, secrets)
