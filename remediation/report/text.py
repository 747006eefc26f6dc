"""The terminal report: rich tables grouped by the seed report's areas."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from ..checks.base import AREAS
from ..findings import NOT_READY, PARTIAL, HostReport, Severity, blocked

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
VERDICT_STYLE = {NOT_READY: "bold red", PARTIAL: "yellow"}


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
                          f"blocked={'yes' if blocked(report.findings, fail_level) else 'no'}  production={verdict}")
    return buffer.getvalue()


def write_host(console: Console, report: HostReport, fail_level: Severity) -> None:
    console.rule(f"[bold]Readiness of {report.project} on {report.host}")
    if report.error:
        console.print(f"[bold red]{report.status}:[/] {report.error}")
        return
    for key, number, title in AREAS:
        findings = [f for f in report.findings if f.area == key]
        if not findings:
            console.print(f"[green]✔[/] {number}. {title}: no findings")
            continue
        table = Table(title=f"{number}. {title}", title_justify="left", show_lines=False, expand=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("id", no_wrap=True)
        table.add_column("finding", ratio=3)
        table.add_column("fix", ratio=1)
        for f in sorted(findings, key=lambda f: -f.severity):
            style = SEVERITY_STYLE[str(f.severity)]
            django = f" [dim]({', '.join(f.django_ids)})[/]" if f.django_ids else ""
            fix = f.fix if not f.needs else f"{f.fix}: {', '.join(f.needs)}"
            table.add_row(f"[{style}]{f.severity}[/]", f.id, f"[bold]{f.title}[/]{django}\n{f.detail}", fix)
        console.print(table)
    verdict = report.verdict.to_dict()
    console.print(
        "Readiness: "
        + " | ".join(f"{env}: [{VERDICT_STYLE.get(v, 'green')}]{v}[/]" for env, v in verdict.items())
    )
    needs = report.needs_input
    if needs:
        console.print(f"Needs input from a person: {', '.join(needs)}")
    status = "BLOCKED" if blocked(report.findings, fail_level) else "not blocked"
    console.print(f"Production is {status} at fail level {fail_level} ({len(report.findings)} findings)")
