"""``invoke deploy``, ``invoke releases`` and ``invoke rollback --release``: flags in, one report
out (text or JSON), exit 0 (everything live / the plan, in --check), 1 (a host failed, was rolled
back, or the gate said no), 2 (bad input)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..fleet import SshOptions
from ..masking import scrub
from ..runner import DEMO_PROJECT, UsageError
from .options import DeployOptions


def load(inventory: str | None, limit: str | None, vault=None):
    from ..fleet_runs import load_hosts

    if not inventory:
        raise UsageError("deploy needs -i INVENTORY (hosts with deploy_to; a local host has ansible_connection=local)")
    return load_hosts(inventory, limit, vault)


def vault_scrub(vault) -> set:
    from ..cli import vault_scrub as scrub_list

    return scrub_list(vault)


def recap_text(report: dict) -> str:
    if report.get("setup"):  # no new release: each host's live one
        lines = [f"DEPLOY SETUP RECAP  the live release, no new one  {report['seconds']:.1f}s"]
    else:
        lines = [(f"DEPLOY {'CHECK ' if report['check'] else ''}RECAP  release {report['release']} "
                  f"(commit {(report['commit'] or '?')[:12]})  {report['seconds']:.1f}s")]
    width = max((len(h["host"]) for h in report["hosts"]), default=4)
    for host in report["hosts"]:
        failed = sum(1 for s in host["steps"] if s["status"] == "failed")
        line = (f"{host['host']:<{width}} : {host['status']:<11} steps={len(host['steps'])} failed={failed} "
                f"{host['seconds']:.1f}s")
        if host.get("release"):
            line += f"  release {host['release']}"
        if host.get("url"):
            line += f"  {host['url']}"
        if host["error"]:
            line += f"\n{'':<{width}}   {host['error']}"
        lines.append(line)
        if host.get("verify"):
            lines.append(f"{'':<{width}}   verify: {verify_line(host['verify'])}")
        if report["check"] and host.get("plan"):
            plan = host["plan"]
            lines.append(f"{'':<{width}}   plan: release {plan.get('release')} (live now: {plan.get('live') or 'none'}), "
                         f"venv: {plan.get('venv')}, restart: {', '.join(plan.get('services') or [])}")
            migrations = plan.get("migrations") or {}
            lines.append(f"{'':<{width}}   migrations: {', '.join(migrations.get('apply') or []) or 'none'}"
                         + "".join(f"\n{'':<{width}}     {line}" for line in migrations.get("lint") or []))
    lines.append(report["outcome"])
    return "\n".join(lines) + "\n"


def verify_line(verify: dict) -> str:
    """The deploy's verify step in the recap: clean, or the ids at or above its fail level."""
    if verify["clean"]:
        return f"clean at {verify['fail_level']} ({' '.join(verify['urls'])})"
    return (f"{', '.join(verify['blocking'])} at or above {verify['fail_level']} ({' '.join(verify['urls'])}); "
            "not rolled back")


def emit(text: str, output: str | None, secrets: set) -> None:
    text = scrub(text, secrets)
    if output:
        from ..options import write_report

        write_report(Path(output), text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def deploy(inventory, limit, options: DeployOptions, fmt: str, output: str | None, ssh: SshOptions, vault=None) -> int:
    from .run import Deployment

    if fmt not in ("text", "json"):
        raise UsageError("--format must be text or json")
    deployment = Deployment(load(inventory, limit, vault), options, ssh, inventory_hosts=load(inventory, None, vault))
    status = deployment.run()
    report = deployment.report()
    report["setup"] = options.setup
    for host, run in zip(report["hosts"], deployment.runs):
        host["url"] = run.config.health_url
        if options.setup:
            host["release"] = run.previous  # the live release --setup worked on
    secrets = set().union(*(run.secrets for run in deployment.runs)) | vault_scrub(vault)
    emit(json.dumps(report, indent=2) + "\n" if fmt == "json" else recap_text(report), output, secrets)
    return status


class _Settings:
    """What rollback's health check and services need from a deploy (no bundle, no commit)."""

    def __init__(self, beat_host: str):
        self.beat_host = beat_host
        self.manage_rel = ""
        self.options = DeployOptions.__new__(DeployOptions)
        self.options.health_attempts, self.options.health_interval = 10, 1.0


def _runs(inventory, limit, ssh, progress: bool, project: str | None = None, vault=None):
    from ..fleet import transport_for
    from .display import Display
    from .hostrun import HostDeploy
    from .hostvars import host_config
    from .phases import connect
    from .run import in_parallel

    from .run import roles

    app = os.path.basename((project or str(DEMO_PROJECT)).rstrip("/")) or "app"  # as deploy's default
    hosts = load(inventory, limit, vault)
    display = Display([h.name for h in hosts], enabled=progress)
    runs = [HostDeploy(h, host_config(h, app), display) for h in hosts]
    in_parallel(runs, lambda r: connect(r, transport_for(r.host, ssh)))
    return runs, display, roles([r.config for r in runs], load(inventory, None, vault), app)[1]


def releases(inventory, limit, fmt: str, ssh: SshOptions, vault=None) -> int:
    from . import revert

    runs, display, _ = _runs(inventory, limit, ssh, progress=False, vault=vault)
    table = {}
    for run in runs:
        if run.transport is not None and not run.error:
            table[run.name] = revert.list_releases(run)
        else:
            table[run.name] = {"error": run.error}
        if run.transport is not None:
            run.transport.close()
    if fmt == "json":
        emit(json.dumps(table, indent=2) + "\n", None, vault_scrub(vault))
    else:
        lines = []
        for host, rows in table.items():
            lines.append(f"{host}:")
            if isinstance(rows, dict):
                lines.append(f"  unreachable: {rows['error']}")
                continue
            lines += [f"  {r['id']:<28} {r['state']:<8} {r['commit'][:12]:<12} {r['time']:<20} {r['deployer']}"
                      + (f"  ({r['reason']})" if r.get("reason") else "") for r in rows] or ["  no releases"]
        emit("\n".join(lines) + "\n", None, vault_scrub(vault))
    return 1 if any(isinstance(rows, dict) for rows in table.values()) else 0


def rollback(inventory, limit, release: str | None, force: bool, database: bool, yes: bool, ssh: SshOptions,
             project: str | None = None, vault=None) -> int:
    from ..lock import holder_info
    from . import phases, revert
    from .hostrun import FAILED, StepFailed
    from .run import in_parallel

    runs, display, beat_host = _runs(inventory, limit, ssh, progress=True, project=project, vault=vault)
    settings = _Settings(beat_host)

    def confirm(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            return False
        return input(question + " [y/N] ").strip().lower() in ("y", "yes")

    def one(run):
        phases.lock(run, holder_info("rollback"))
        try:
            target = revert.rollback(run, release, force, database, confirm, settings)
            run.status = "changed"
            run.error = ""
            display.line(f"[{run.name}] rolled back to {target}")
        except UsageError as exc:
            run.status, run.error = FAILED, str(exc)
            raise StepFailed(str(exc)) from None

    with display:
        in_parallel([r for r in runs if r.transport is not None and not r.error], one)
    for run in runs:
        phases.unlock(run)
        if run.transport is not None:
            run.transport.close()
    lines = [f"{r.name}: {r.status}" + (f": {r.error.removeprefix(r.name + ': ')}" if r.error else "") for r in runs]
    secrets = set().union(*(r.secrets for r in runs)) | vault_scrub(vault)
    emit("ROLLBACK RECAP\n" + "\n".join(lines) + "\n", None, secrets)
    return 0 if all(r.status == "changed" for r in runs) else 1
