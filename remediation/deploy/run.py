"""The deploy, in the order a careful engineer would do it by hand, over one host or a fleet.

    controller: resolve the commit (pushed), git archive it, build the front end once
    every host, in parallel: connect, take the lock (held until the end; freed by the OS if we die),
        check the disk, stage the release under a temp name with its venv, audit it (the gate)
    the migrating host: lint the unapplied migrations (refused when unsafe)
    --check stops here and prints the plan; nothing a user can see has changed
    every host: the release renamed into place, shared dirs linked, collectstatic without --clear
    the migrating host: verified backup, rehearsal on a restored copy, migrate once
    per batch of --serial hosts: switch current, restart, health check; a failing host goes back
    every good host: cleanup (keep N good releases, current and previous; unused venvs)

A host that fails before the database step stops the deploy when failures exceed
--max-fail-percentage (Ansible's rule: stop when the percentage failed is greater than it).
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from ..fleet import SshOptions, transport_for
from ..lock import holder_info
from ..runner import UsageError
from . import hostops, phases
from .display import Display
from .hostrun import CHANGED, FAILED, OK, UNREACHABLE, HostDeploy, StepFailed
from .hostvars import choose, host_config
from .options import DeployOptions


def batches(items: list, serial: str | None) -> list[list]:
    """Ansible's ``serial``: a number, a percentage of the hosts, or all at once."""
    if not serial:
        return [items] if items else []
    text = str(serial).strip()
    try:
        size = max(1, int(len(items) * float(text[:-1]) / 100)) if text.endswith("%") else int(text)
    except ValueError:
        raise UsageError(f"--serial: {serial!r} is not a number or a percentage") from None
    if size < 1:
        raise UsageError("--serial must be at least 1")
    return [items[i:i + size] for i in range(0, len(items), size)]


def too_many_failed(failed: int, total: int, max_fail_percentage: float | None) -> bool:
    if max_fail_percentage is None:
        return failed > 0
    return total > 0 and failed * 100.0 / total > max_fail_percentage


def in_parallel(runs: list[HostDeploy], work, forks: int = 16) -> None:
    """``work(run)`` on every host at once; a failed step has already marked its host."""

    def one(run: HostDeploy) -> None:
        try:
            work(run)
        except StepFailed:
            pass
        except Exception as exc:  # one host's bug must not take the fleet down
            run.status, run.error = FAILED, f"internal error: {type(exc).__name__}: {run.clean(exc)}"

    if runs:
        with ThreadPoolExecutor(max_workers=min(forks, len(runs))) as pool:
            list(pool.map(one, runs))


def roles(configs, inventory_hosts, app: str) -> tuple[str, str]:
    """The host that migrates (one of those deployed) and the one that runs Celery beat: chosen
    from the whole inventory, so a ``--limit`` never starts a second beat on another host."""
    everyone = []
    for host in inventory_hosts:
        try:
            everyone.append(host_config(host, app))
        except UsageError:
            continue  # a host this deploy does not touch may lack deploy_to
    migrate = choose(everyone, "migrate") if everyone else configs[0].name
    if migrate not in {c.name for c in configs}:
        migrate = choose(configs, "migrate")
    return migrate, choose(everyone or configs, "beat")


class Deployment:
    def __init__(self, hosts, options: DeployOptions, ssh: SshOptions | None = None, inventory_hosts=None):
        if not hosts:
            raise UsageError("no hosts to deploy to")
        self.options, self.ssh = options, ssh or SshOptions()
        self.display = Display([h.name for h in hosts], enabled=options.progress)
        app = options.app_name()
        self.runs = [HostDeploy(h, host_config(h, app), self.display) for h in hosts]
        self.migrate_host, self.beat_host = roles([r.config for r in self.runs], inventory_hosts or hosts, app)
        self.commit = self.bundle = None
        self.holder = holder_info("deploy")
        self.rid = ""
        self.outcome = ""
        self.started = time.perf_counter()

    # --- the phases -----------------------------------------------------------------------------

    def alive(self) -> list[HostDeploy]:
        return [r for r in self.runs if r.status not in (FAILED, UNREACHABLE)]

    def preflight_ok(self) -> bool:
        failed = len(self.runs) - len(self.alive())
        if too_many_failed(failed, len(self.runs), self.options.max_fail_percentage):
            self.outcome = f"stopped before any change: {failed} of {len(self.runs)} host(s) failed the preflight"
            return False
        return True

    def run(self) -> int:
        if self.options.setup:  # no new release: the site and service files for the live one (setup.py)
            from .setup import run_setup

            return run_setup(self)
        with self.display, tempfile.TemporaryDirectory(prefix="remediation-deploy-") as work:
            held = None
            self.commit, self.bundle = phases.bundle(self.options, work)
            self.rid = phases.release_name(self.commit)
            self.display.line(f"deploying {self.commit.short} ({self.commit.subject[:60]}) as release {self.rid}")
            if self.commit.dirty:
                self.display.line("the working copy has uncommitted changes: they are not deployed (the release is "
                                  f"commit {self.commit.short} as committed)")
            in_parallel(self.runs, lambda r: phases.connect(r, transport_for(r.host, self.ssh)))
            self.holder = holder = holder_info("deploy")
            in_parallel(self.alive(), lambda r: phases.lock(r, holder))
            if any(r.lock_refused for r in self.runs):
                self.outcome = "another deploy holds the lock: nothing was done"
                return self.finish(held)
            in_parallel(self.alive(), lambda r: phases.stage(r, self))
            if not self.preflight_ok():
                return self.finish(held, discard=True)
            migrator = self.by_name(self.migrate_host)
            if migrator is None or migrator.status != OK:
                self.outcome = f"stopped before any change: {self.migrate_host}, the host that migrates, failed"
                return self.finish(held, discard=True)
            try:
                migrator.step("migration gate", lambda: phases.migration_gate(migrator, self))
            except StepFailed:
                self.outcome = f"stopped before any change: {migrator.error}"
                return self.finish(held, discard=True)
            if self.options.check:
                self.outcome = "check mode: the plan above; nothing was changed"
                return self.finish(held, discard=True)
            in_parallel(self.alive(), lambda r: phases.place(r, self))
            if not self.preflight_ok():
                return self.finish(held)
            try:
                phases.database(migrator, self)
            except StepFailed:
                self.outcome = f"stopped before any switch: {migrator.error}"
                for run in self.runs:
                    if run.transport is not None:
                        phases.mark_failed(run, self.rid, migrator.error)
                return self.finish(held)
            self.switch_in_batches()
            in_parallel([r for r in self.runs if r.switched and r.status == OK], lambda r: phases.cleanup(r, self))
            return self.finish(held)

    def switch_in_batches(self) -> None:
        targets = self.alive()
        failed_before = len(self.runs) - len(targets)
        for number, batch in enumerate(batches(targets, self.options.serial), 1):
            self.display.line(f"batch {number}: {', '.join(r.name for r in batch)}")
            in_parallel(batch, lambda r: phases.go_live(r, self))
            failed = failed_before + sum(1 for r in targets if r.status not in (OK,))
            if too_many_failed(failed, len(self.runs), self.options.max_fail_percentage):
                rest = [r for r in targets if not r.switched and r.status == OK]
                for run in rest:
                    run.skip("switch", "not touched: an earlier batch failed")
                    phases.mark_failed(run, self.rid, "not deployed: an earlier batch failed")
                self.outcome = f"stopped after batch {number}: {failed} host(s) failed"
                return
        self.outcome = self.outcome or f"release {self.rid} is live"

    @property
    def manage_rel(self) -> str:
        return self.bundle.manage_rel

    def by_name(self, name: str) -> HostDeploy | None:
        return next((r for r in self.runs if r.name == name), None)

    def finish(self, held, discard: bool = False) -> int:
        if discard:
            in_parallel([r for r in self.runs if r.transport is not None], lambda r: phases.discard(r, self))
        for run in self.runs:
            phases.unlock(run)
            if self.options.check and run.created:
                hostops.remove_empty(run.transport, run.created)
        for run in self.runs:
            if run.transport is not None and hasattr(run.transport, "close"):
                run.transport.close()
        return 0 if self.succeeded() else 1

    def succeeded(self) -> bool:
        if self.options.check:
            return all(r.status == OK for r in self.runs)
        return all(r.status in (OK, CHANGED) and r.switched for r in self.runs)

    def report(self) -> dict:
        return {"release": self.rid, "commit": self.commit.sha if self.commit else None,
                "outcome": self.outcome, "check": self.options.check,
                "migrate_host": self.migrate_host, "beat_host": self.beat_host,
                "seconds": round(time.perf_counter() - self.started, 3),
                "hosts": [r.to_dict() for r in self.runs]}
