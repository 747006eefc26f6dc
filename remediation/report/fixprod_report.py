"""fix-prod's report: per fix ok / changed / failed / needs input / skipped, the masked diffs,
then per finding fixed / still open / needs input, and a recap line like Ansible's."""

from __future__ import annotations

import io
import json
from collections import Counter

from rich.console import Console
from rich.text import Text

from ..findings import HostReport, Severity, blocked
from .json_report import host_entry

STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "needs input": "magenta", "skipped": "cyan",
         "fixed": "green", "still open": "red", "new": "bold red", "unknown": "bold magenta"}


def recap(run) -> dict:
    fixes = Counter(r.status for r in run.fixes)
    counts = {
        "ok": fixes.get("ok", 0), "changed": fixes.get("changed", 0), "failed": fixes.get("failed", 0),
        "needs_input": fixes.get("needs input", 0), "skipped": fixes.get("skipped", 0),
    }
    if not run.check:  # in check mode nothing was fixed; the audit after is the audit before
        findings = Counter(state for _, state in run.finding_states())
        counts.update(fixed=findings.get("fixed", 0), still_open=findings.get("still open", 0) + findings.get("new", 0),
                      findings_needing_input=findings.get("needs input", 0), unknown=findings.get("unknown", 0))
    return counts


def render_text(runs, fail_level: Severity, show_diff: bool, color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False)
    for run in runs:
        mode = " (check mode: nothing changed)" if run.check else ""
        console.rule(Text(f"fix-prod {run.project} on {run.host}{mode}", style="bold"))
        if run.error:
            console.print(Text.assemble((f"{run.status}:", "bold red"), f" {run.error}"), soft_wrap=True)
            continue
        if run.headline:
            console.print(Text(run.headline, style="bold red"), soft_wrap=True)
        for result in run.fixes:
            style = STYLE.get(result.status, "")
            console.print(Text.assemble(f"  {result.name:<16} ", (f"{result.status:<12}", style), f" {result.message}"),
                          soft_wrap=True)
        for note in run.notes:
            console.print(Text(f"  note: {note}"), soft_wrap=True)
        if show_diff:
            for change in run.changes:
                if change.changed:
                    console.print(change.diff().rstrip("\n"), markup=False)
        if not run.check:
            console.print("[bold]after:[/]")
            for finding, state in run.finding_states():
                needs = f" ({', '.join(finding.needs)})" if state == "needs input" and finding.needs else ""
                console.print(Text.assemble(f"  {finding.id:<34} ", (state, STYLE.get(state, "")), needs))
        counts = recap(run)
        console.print(Text("recap: " + run.host + "  " + "  ".join(f"{k}={v}" for k, v in counts.items())), soft_wrap=True)
        state = "BLOCKED" if blocked(run.after, fail_level) else "ready"
        console.print(f"production: {state} at fail level {fail_level}")
    if len(runs) > 1:
        console.rule("[bold]RECAP")
        for run in runs:
            counts = recap(run)
            console.print(Text(f"{run.host:<30} : {run.status:<11} " + "  ".join(f"{k}={v}" for k, v in counts.items())))
    return buffer.getvalue()


def render_json(runs, fail_level: Severity) -> str:
    hosts = []
    for run in runs:
        audit = host_entry(HostReport(run.host, run.project, run.after, run.after_facts), fail_level)
        hosts.append({
            "host": run.host,
            "project": run.project,
            "status": run.status,
            "error": run.error,
            "check": run.check,
            "run_id": run.run_id,
            "headline": run.headline,
            "planned_probes": run.planned_probes,
            "notes": list(run.notes),
            "recap": recap(run),
            "fixes": [{"name": r.name, "status": r.status, "message": r.message, "repairs": list(r.repairs),
                       "needs": r.needs} for r in run.fixes],
            "changes": [{"path": c.path, "description": c.description, "changed": c.changed, "diff": c.diff()}
                        for c in run.changes],
            "findings": [{"id": f.id, "severity": str(f.severity), "status": state, "needs": list(f.needs)}
                         for f, state in run.finding_states()],
            "audit": audit,
        })
    blocked_any = any(h["audit"]["blocked"] or h["status"] != "ok" for h in hosts)
    document = {"fail_level": str(fail_level), "blocked": blocked_any, "hosts": hosts}
    return json.dumps(document, indent=2, default=str) + "\n"


FORMATS = ("text", "json", "junit", "sarif")


def after_reports(runs) -> list[HostReport]:
    """Each host's audit after the fixes, as the audit's report writers take it (JUnit, SARIF)."""
    return [HostReport(run.host, run.project, run.after, run.after_facts, error=run.error, status=run.status,
                       checks=list(run.after_checks)) for run in runs]


def render_run(fmt: str, runs, fail_level: Severity, show_diff: bool, color: bool = False) -> str:
    """fix-prod's report in one of FORMATS: JUnit and SARIF show the audit after the fixes, and JUnit
    each fix too (one test suite per host: failed and needs input fail, skipped is skipped)."""
    from . import junit, sarif

    if fmt == "json":
        return render_json(runs, fail_level)
    if fmt == "junit":
        return junit.render(after_reports(runs), fail_level, title="django-remediation fix-prod",
                            extra=[junit.fix_suite(run) for run in runs if not run.error])
    if fmt == "sarif":
        return sarif.render(after_reports(runs), fail_level, command="fix-prod")
    return render_text(runs, fail_level, show_diff, color=color)
