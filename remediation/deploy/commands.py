"""``invoke deploy``, ``invoke releases`` and ``invoke rollback --release``: flags in, one report
out (text or JSON), exit 0 (everything live / the plan, in --check), 1 (a host failed, was rolled
back, or the gate said no), 2 (bad input)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..fleet import SshOptions
from ..masking import scrub
from ..runner import UsageError
from .options import DeployOptions


def load(inventory: str | None, limit: str | None):
    from ..cli import load_hosts

    if not inventory:
        raise UsageError("deploy needs -i INVENTORY (hosts with deploy_to; a local host has ansible_connection=local)")
    return load_hosts(inventory, limit)


def recap_text(report: dict) -> str:
    lines = [f"DEPLOY {'CHECK ' if report['check'] else ''}RECAP  release {report['release']} "
             f"(commit {(report['commit'] or '?')[:12]})  {report['seconds']:.1f}s"]
    width = max((len(h["host"]) for h in report["hosts"]), default=4)
    for host in report["hosts"]:
        failed = sum(1 for s in host["steps"] if s["status"] == "failed")
        line = (f"{host['host']:<{width}} : {host['status']:<11} steps={len(host['steps'])} failed={failed} "
                f"{host['seconds']:.1f}s")
        if host.get("url"):
            line += f"  {host['url']}"
        if host["error"]:
            line += f"\n{'':<{width}}   {host['error']}"
        lines.append(line)
        if report["check"] and host.get("plan"):
            plan = host["plan"]
            lines.append(f"{'':<{width}}   plan: release {plan.get('release')} (previous {plan.get('previous') or 'none'}), "
                         f"venv: {plan.get('venv')}, restart: {', '.join(plan.get('services') or [])}")
            migrations = plan.get("migrations") or {}
            lines.append(f"{'':<{width}}   migrations: {', '.join(migrations.get('apply') or []) or 'none'}"
                         + "".join(f"\n{'':<{width}}     {line}" for line in migrations.get("lint") or []))
    lines.append(report["outcome"])
    return "\n".join(lines) + "\n"


def emit(text: str, output: str | None, secrets: set) -> None:
    text = scrub(text, secrets)
    if output:
        from ..options import write_report

        write_report(Path(output), text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def deploy(inventory, limit, options: DeployOptions, fmt: str, output: str | None, ssh: SshOptions) -> int:
    from .run import Deployment

    if fmt not in ("text", "json"):
        raise UsageError("--format must be text or json")
    deployment = Deployment(load(inventory, limit), options, ssh)
    status = deployment.run()
    report = deployment.report()
    for host, run in zip(report["hosts"], deployment.runs):
        host["url"] = run.config.health_url
    secrets = set().union(*(run.secrets for run in deployment.runs))
    emit(json.dumps(report, indent=2) + "\n" if fmt == "json" else recap_text(report), output, secrets)
    return status
