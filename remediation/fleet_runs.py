"""The fleet side of the commands: an inventory loaded once (vault, warnings), every selected host
audited or fixed in parallel, drift compared across them, and one SECRET_KEY per secret_key_group
decided before any host plans. remediation/cli.py calls these for ``-i INVENTORY``."""

from __future__ import annotations

import sys

from .options import host_probe_timeout
from .runner import UsageError, audit_project


def collect(results, failed_entry) -> tuple[list, set]:
    """Per-host results of a fleet run, in order; ``failed_entry(run)`` stands in for a host that failed."""
    entries, secrets = [], set()
    for run in results:
        if run.result is not None:
            entries.append(run.result[0])
            secrets |= run.result[1]
        else:
            entries.append(failed_entry(run))
    return entries, secrets


WARNED: set[str] = set()


def load_fleet(inventory, limit, vault=None):
    """(every host of the inventory, the hosts --limit selects); vaulted values decrypted with ``vault``
    (their plaintexts join its scrub list)."""
    from .inventory import InventoryError, load_inventory, select

    try:
        loaded = load_inventory(inventory, vault)
        hosts = select(loaded, limit)
    except InventoryError as exc:
        raise UsageError(str(exc)) from None
    for warning in loaded.warnings:
        if warning not in WARNED:  # deploy loads the inventory twice: say it once
            WARNED.add(warning)
            print(f"warning: {warning}", file=sys.stderr)
    return loaded.hosts, hosts


def load_hosts(inventory, limit, vault=None):
    """The selected hosts."""
    return load_fleet(inventory, limit, vault)[1]


def audit_fleet(inventory, limit, forks, ssh, vault=None):
    """Audit every selected host in parallel; unreachable or failing hosts get an error entry."""
    import secrets as secrets_module

    from collections import Counter

    from .checks.base import FAILED, PASSED, SKIPPED, CheckRun
    from .drift import drift_findings
    from .findings import HostReport
    from .fleet import SshOptions, run_hosts

    from .fixprod.fleet_keys import group_of

    hosts = load_hosts(inventory, limit, vault)
    groups = {host.name: group_of(host) for host in hosts}
    run_key = secrets_module.token_hex(16)

    def work(host, transport):
        host_probe_timeout(host, transport)
        report, found = audit_project(host.project, python=host.python, env_file=host.env_file, transport=transport,
                                      fingerprint_key=run_key)
        report.host = host.name
        report.facts["app"] = host.vars.get("app")
        report.facts["secret_key_group"] = groups[host.name]
        return report, found

    runs = run_hosts(hosts, work, ssh or SshOptions(), forks=forks, progress=True,
                     summarize=lambda result: f", {len(result[0].findings)} findings")
    reports, secrets = collect(runs, lambda run: HostReport(host=run.host.name, project=str(run.host.project or ""),
                                                           error=run.error, status=run.status,
                                                           facts={"secret_key_group": groups[run.host.name]}))
    drift = drift_findings(reports)
    apps = Counter(r.facts.get("app") or "" for r in reports if r.status == "ok" and r.facts)
    for report in reports:
        found = drift.get(report.host, [])
        report.findings += found
        if report.status != "ok":
            continue
        if apps[report.facts.get("app") or ""] < 2:  # the drift check's record (JUnit's test case)
            report.checks.append(CheckRun("drift_across_hosts", "drift", SKIPPED,
                                          "no other audited host of the same app to compare with"))
        else:
            report.checks.append(CheckRun("drift_across_hosts", "drift", FAILED if found else PASSED, None,
                                          tuple(dict.fromkeys(f.id for f in found))))
    return reports, secrets


def fix_prod_fleet(options, inventory, limit, forks, ssh):
    """fix-prod on every selected host in parallel; host vars fill in what the flags leave open.
    Hosts of one ``secret_key_group`` get one SECRET_KEY, decided before any host plans (fixprod/fleet_keys)."""
    from .fixprod import FixRun, fleet_keys
    from .fixprod import fix_prod as run_fix_prod
    from .fleet import SshOptions, close_kept, run_hosts

    every, hosts = load_fleet(inventory, limit, options.vault)
    ssh, opened = ssh or SshOptions(), {}  # a set's read and its run share each host's one connection
    try:
        keys = fleet_keys.prepare(options, every, hosts, lambda targets, job: run_hosts(
            targets, job, ssh, forks=forks, progress=False, keep=opened))
        for name in set(opened) - {h.name for h in hosts}:  # read for the set, outside --limit
            close_kept({name: opened.pop(name)})
        results = run_hosts(hosts, work_on(options, keys, run_fix_prod), ssh, forks=forks, progress=True, reuse=opened,
                            summarize=lambda result: f", {sum(f.status == 'changed' for f in result[0].fixes)} changed")
    finally:
        close_kept(opened)
    runs, secrets = collect(results, lambda run: FixRun(host=run.host.name, project=str(run.host.project or ""),
                                                         check=options.check, error=run.error, status=run.status))
    fleet_keys.prove(runs, keys.touched, hosts)
    if options.store_in_vault and not options.check:
        from .fixprod.vault_store import store

        store(runs, keys.shared, keys.touched, options, keys.vault)
    return runs, secrets | keys.secrets


def work_on(options, keys, run_fix_prod):
    """fix-prod on one host of a fleet: host vars fill in what the flags leave open."""
    from dataclasses import replace

    def work(host, transport):
        host_probe_timeout(host, transport)
        mine = replace(options, project=host.project or options.project, python=host.python or options.python,
                       env_file=host.env_file or options.env_file, domains=options.domains or host.domains,
                       database_url=options.database_url or host.database_url, prompt=False,
                       shared_key=keys.shared.get(host.name), fingerprint_key=keys.run_key,
                       host_facts=keys.collected.get(host.name))
        run, found = run_fix_prod(mine, transport)
        run.host = host.name
        return run, found

    return work
