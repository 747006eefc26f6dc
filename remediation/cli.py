"""What the invoke tasks do, kept out of tasks.py so that tasks.py only parses flags.

Exit statuses follow the issue: 0 production ready at the fail level, 1 blocked, 2 bad input.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from . import config, waivers
from .findings import Severity, blocked
from .masking import scrub
from .options import (fix_prod_options, forks_option, not_empty, path_options, probe_timeout_option,
                      secrets_of_options)
from .outputs import parse_outputs, write_outputs
from .report import WRITERS, render
from .fleet_runs import audit_fleet, fix_prod_fleet, load_hosts
from .runner import DEMO_PROJECT, UsageError, audit_project

EXIT_READY, EXIT_BLOCKED, EXIT_USAGE = 0, 1, 2


def apply_waivers(reports) -> None:
    """The config file's waivers (remediation/waivers.py) on each host's findings."""
    waivers.apply_to_reports(reports, config.active().waivers)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def needs_inventory(inventory, limit) -> None:
    if limit and not inventory:
        raise UsageError("--limit selects hosts of an inventory: pass -i INVENTORY too")


def level_option(fail_level: str) -> Severity:
    try:
        return Severity.parse(fail_level)
    except ValueError as exc:
        raise UsageError(f"--fail-level: {exc}") from None


def write_all(outputs, render_one) -> int | None:
    """Every --format from the same reports; an error status if a file could not be written."""
    error = write_outputs(outputs, render_one)
    return fail(error) if error else None


def host_error(exc: BaseException) -> str:
    """One line for an error of the host or the file system that no check turned into a finding."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(str(exc).split()) or type(exc).__name__


def vault_secrets(password_files, ask, vault_ids):
    """(the run's VaultSecrets or None when no source is given, exit status): read once, before any work."""
    from .vault.command import read_secrets

    return read_secrets(password_files, ask, vault_ids, fail)


def vault_scrub(vault) -> set[str]:
    """What the vault adds to a run's scrub list: every plaintext it decrypted, and its passwords."""
    return (vault.plaintexts | vault.passwords) if vault else set()


def vault(action, file, **options) -> int:
    """invoke vault: ansible-vault's verbs; one line and exit 2 for anything wrong, every file as it was."""
    from .vault.command import main

    return main(action, file, fail, **options)


def audit(project=None, python=None, env_file=None, fmt="text", output=None, fail_level="high",
          inventory=None, limit=None, forks=5, ssh=None, probe_timeout=None, live=None, vault=None) -> int:
    from .transport import TransportError

    try:
        needs_inventory(inventory, limit)
        path_options(project, python, env_file)
        outputs = parse_outputs(fmt, WRITERS, output)
        level = level_option(fail_level)
        probe_timeout_option(probe_timeout)
        live_urls, live_options = live_option(live, inventory)
        if inventory:
            reports, secrets = audit_fleet(inventory, limit, forks_option(forks), ssh, vault)
        else:
            report, secrets = audit_project(project, python=python, env_file=env_file)
            reports = [report]
            if live_urls:
                from .verify.live_audit import add_live

                secrets |= add_live(report, live_urls, live_options)
    except UsageError as exc:
        return fail(scrub(str(exc), vault_scrub(vault)))
    except (OSError, TransportError) as exc:
        return fail(scrub(host_error(exc), vault_scrub(vault)))
    secrets |= vault_scrub(vault)
    apply_waivers(reports)
    error = write_all(outputs, lambda out: render(out.fmt, reports, level, secrets, color=out.color))
    if error is not None:
        return error
    failed = any(r.status != "ok" for r in reports)
    return EXIT_BLOCKED if failed or any(blocked(r.findings, level) for r in reports) else EXIT_READY


def live_option(live, inventory):
    """``--live URL`` (repeatable): checked like verify's URLs; one project, so not with -i."""
    if not live:
        return [], None
    if inventory:
        raise UsageError("--live verifies one project's URLs: run it without -i (or run invoke verify per host)")
    from .verify import verify_options

    return verify_options(live)


def inventory_command(inventory, limit=None, vault=None) -> int:
    import json

    from .inventory import masked

    try:
        if not inventory:
            raise UsageError("-i INVENTORY: name the inventory (or set `inventory` in remediation.yaml)")
        hosts = load_hosts(inventory, limit, vault)
    except UsageError as exc:
        return fail(scrub(str(exc), vault_scrub(vault)))
    hidden = vault_scrub(vault)
    print(scrub(json.dumps([masked(h, hidden) for h in hosts], indent=2, default=str), hidden))
    return EXIT_READY


def fix_prod(options, fmt="text", output=None, fail_level="high", inventory=None, limit=None, forks=5, ssh=None,
             probe_timeout=None) -> int:
    from .fixes.base import FAILED, NEEDS_INPUT
    from .fixprod import fix_prod as run_fix_prod
    from .fixprod.fleet_keys import check_key_options
    from .report.fixprod_report import FORMATS, render_run
    from .transport import TransportError

    try:
        needs_inventory(inventory, limit)
        fix_prod_options(options)
        check_key_options(options, inventory)
        outputs = parse_outputs(fmt, FORMATS, output)
        level = level_option(fail_level)
        probe_timeout_option(probe_timeout)
        if inventory:
            runs, secrets = fix_prod_fleet(options, inventory, limit, forks_option(forks), ssh)
        else:
            run, secrets = run_fix_prod(options)
            runs = [run]
    except UsageError as exc:
        return fail(scrub(str(exc), vault_scrub(options.vault)))
    except (OSError, TransportError) as exc:
        return fail(scrub(host_error(exc), secrets_of_options(options) | vault_scrub(options.vault)))
    except KeyboardInterrupt:
        return fail("interrupted; every file is as it was or as it was written whole (atomic writes)")
    secrets |= vault_scrub(options.vault)
    for run in runs:
        run.before, run.after = (waivers.apply(run.before, run.host, config.active().waivers),
                                 waivers.apply(run.after, run.host, config.active().waivers))
    error = write_all(outputs, lambda out: scrub(render_run(out.fmt, runs, level, options.diff, out.color), secrets))
    if error is not None:
        return error
    failed = any(r.error or any(f.status in (FAILED, NEEDS_INPUT) for f in r.fixes) for r in runs)
    return EXIT_BLOCKED if failed or any(blocked(r.after, level) for r in runs) else EXIT_READY


def rollback(project=None, database=False, inventory=None, limit=None, forks=5, ssh=None, vault=None) -> int:
    """Undo the last fix-prod run, here or on every selected host of an inventory."""
    from .fleet import OK, SshOptions, run_hosts
    from .rollback import NothingToRollBack, RollbackFailed
    from .rollback import rollback as run_rollback
    from .transport import Local, TransportError

    if not inventory:
        try:
            needs_inventory(inventory, limit)
            not_empty("--project", project)
            lines = run_rollback(Local(), str(Path(project or DEMO_PROJECT).expanduser().resolve()), database=database)
        except (NothingToRollBack, UsageError) as exc:
            return fail(str(exc))
        except RollbackFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BLOCKED
        except (OSError, TransportError) as exc:  # pg_restore missing, a file that cannot be read
            return fail(host_error(exc))
        print("\n".join(lines))
        return EXIT_READY

    def work(host, transport):
        if not host.project:
            raise UsageError(f"{host.name}: no project path (set the host's `project` var)")
        try:
            return run_rollback(transport, host.project, database=database, python=host.python or "python3")
        except NothingToRollBack as exc:
            raise UsageError(str(exc)) from None

    try:
        results = run_hosts(load_hosts(inventory, limit, vault), work, ssh or SshOptions(), forks=forks_option(forks))
    except UsageError as exc:
        return fail(scrub(str(exc), vault_scrub(vault)))
    for result in results:
        lines = result.result if result.status == OK else [f"{result.status}: {result.error}"]
        print(scrub("\n".join(f"{result.host.name}: {line}" for line in lines), vault_scrub(vault)))
    return EXIT_READY if all(r.status == OK for r in results) else EXIT_BLOCKED


def demo(dest: str) -> int:
    """A fresh copy of the bundled demo for a user to try things on; never the original."""
    target = Path(dest).expanduser().absolute()
    if target.exists() and any(target.iterdir()):
        return fail(f"{target}: exists and is not empty")
    shutil.copytree(DEMO_PROJECT, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    print(f"demo project copied to {target}")
    return EXIT_READY


def deploy(inventory, limit, options: dict, fmt: str, output, ssh, vault=None) -> int:
    """invoke deploy: bad input is one line and exit 2; otherwise the recap and 0 or 1."""
    from .deploy import commands
    from .deploy.options import DeployOptions

    try:
        return commands.deploy(inventory, limit, DeployOptions(**options), fmt, output, ssh, vault=vault)
    except UsageError as exc:
        return fail(scrub(str(exc), vault_scrub(vault)))


def releases(inventory, limit, fmt: str, ssh, vault=None) -> int:
    from .deploy import commands

    try:
        return commands.releases(inventory, limit, fmt, ssh, vault=vault)
    except UsageError as exc:
        return fail(scrub(str(exc), vault_scrub(vault)))


def deploy_rollback(inventory, limit, release, force: bool, database: bool, yes: bool, ssh, project=None,
                    vault=None) -> int:
    from .deploy import commands

    try:
        return commands.rollback(inventory, limit, release, force, database, yes, ssh, project=project, vault=vault)
    except UsageError as exc:
        return fail(scrub(str(exc), vault_scrub(vault)))


def tls(ca, hosts, days) -> int:
    """invoke tls: the local CA and host certificates (staging, tests)."""
    from .tls import TlsError, tls_command

    try:
        lines = tls_command(ca, hosts, days)
    except TlsError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(host_error(exc))
    print("\n".join(lines))
    return EXIT_READY


def verify(urls, fmt="text", output=None, fail_level="high", ca_file=None, timeout=None, ws_path="/ws/",
           health_path=None, admin_path="/admin/login/", resolve=None) -> int:
    """invoke verify: what a browser receives from each URL; exit status as audit's."""
    from .verify import verify_options, verify_urls
    from .verify.report import FORMATS, render

    try:
        outputs = parse_outputs(fmt, FORMATS, output)
        level = level_option(fail_level)
        checked, options = verify_options(urls, ca_file, timeout, ws_path, health_path, admin_path, resolve)
    except UsageError as exc:
        return fail(str(exc))
    reports, secrets = verify_urls(checked, options)
    apply_waivers(reports)
    error = write_all(outputs, lambda out: render(out.fmt, reports, level, secrets, color=out.color))
    if error is not None:
        return error
    return EXIT_BLOCKED if any(blocked(r.findings, level) for r in reports) else EXIT_READY
