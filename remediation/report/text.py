"""The terminal report: per area of the seed report, its rows (what is configured), then its findings.

Everything that comes from the project, its env, its host or an exception is data, never rich
markup: it goes through ``escape`` (or ``markup=False``), so ``[/]`` in a settings error prints as is.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..checks.base import AREAS
from ..findings import NOT_READY, PARTIAL, HostReport, Severity, blocked
from .rows import area_rows

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
VERDICT_STYLE = {NOT_READY: "bold red", PARTIAL: "yellow"}
ROW_STYLE = {"ok": "green", "warning": "yellow", "error": "red", "unknown": "magenta", "not used": "dim"}


def render(reports: list[HostReport], fail_level: Severity, color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False)
    for report in reports:
        write_host(console, report, fail_level)
    if len(reports) > 1:
        console.rule("[bold]RECAP")
        for report in reports:
            verdict = "-" if report.status != "ok" else report.verdict.production
            console.print(f"{report.host:<30} : {report.status:<11} findings={len(report.findings):<3} "
                          f"blocked={'yes' if blocked(report.findings, fail_level) else 'no'}  production={verdict}",
                          markup=False)
    return buffer.getvalue()


def write_host(console: Console, report: HostReport, fail_level: Severity) -> None:
    console.rule(f"[bold]Readiness of {escape(str(report.project))} on {escape(report.host)}")
    if report.error:
        console.print(f"[bold red]{escape(report.status)}:[/] {escape(report.error)}")
        return
    rows = area_rows(report.facts, report.findings)
    for key, number, title in shown_areas(report.facts):
        findings = [f for f in report.findings if f.area == key]
        if key in rows:
            write_rows(console, f"{number}. {title}", rows[key])
        if findings:
            write_findings(console, f"{number}. {title}: findings", findings)
        else:
            console.print(f"[green]✔[/] {number}. {title}: no findings")
    verdict = report.verdict.to_dict()
    console.print(
        "Readiness: "
        + " | ".join(f"{env}: [{VERDICT_STYLE.get(v, 'green')}]{v}[/]" for env, v in verdict.items())
    )
    needs = report.needs_input
    if needs:
        console.print(f"Needs input from a person: {escape(', '.join(needs))}")
    status = "BLOCKED" if blocked(report.findings, fail_level) else "not blocked"
    waived = sum(1 for f in report.findings if f.waiver)
    console.print(f"Production is {status} at fail level {fail_level} ({len(report.findings)} findings"
                  + (f", {waived} waived)" if waived else ")"))


def shown_areas(facts: dict) -> list:
    """Every area, but the live one only when URLs were verified (audit --live): not verified is
    not "no findings"."""
    return [area for area in AREAS if area[0] != "live" or (facts or {}).get("live")]


def write_rows(console: Console, title: str, rows) -> None:
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("component", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("details", ratio=1)
    for row in rows:
        style = ROW_STYLE[row.status]
        table.add_row(escape(row.component), f"[{style}]{escape(row.icon)}[/]", escape(row.detail))
    console.print(table)


def waiver_note(finding) -> str:
    """The waiver line under a finding: in force (does not block) or expired (blocks again)."""
    waiver = finding.waiver or finding.expired_waiver
    if not waiver:
        return ""
    on = f" on {waiver['host']}" if waiver.get("host") else ""
    if finding.waiver:
        return f"\n[dim]waived{escape(on)} until {escape(waiver['expires'])}: {escape(waiver['reason'])}[/]"
    return (f"\n[bold red]waiver{escape(on)} expired on {escape(waiver['expires'])}[/]: blocks again "
            f"({escape(waiver['reason'])})")


def write_findings(console: Console, title: str, findings) -> None:
    table = Table(title=title, title_justify="left", show_lines=False, expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("finding", ratio=3)
    table.add_column("fix", ratio=1)
    for f in sorted(findings, key=lambda f: -f.severity):
        style = SEVERITY_STYLE[str(f.severity)]
        django = f" [dim]({escape(', '.join(f.django_ids))})[/]" if f.django_ids else ""
        fix = f.fix if not f.needs else f"{f.fix}: {', '.join(f.needs)}"
        severity = f"[dim]{f.severity} (waived)[/]" if f.waiver else f"[{style}]{f.severity}[/]"
        table.add_row(severity, escape(f.id), f"[bold]{escape(f.title)}[/]{django}\n{escape(f.detail)}{waiver_note(f)}",
                      escape(fix))
    console.print(table)
