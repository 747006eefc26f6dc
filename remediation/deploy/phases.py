"""The steps of a deploy on one host, each recorded through ``HostDeploy.step`` (status, duration,
one line). ``run.py`` says in which order and on which hosts they run."""

from __future__ import annotations

import contextlib
import posixpath

from .. import dbrestore
from ..facts import parse_env_text
from ..lock import LockHeld
from ..masking import secret_values
from . import archive, database as db_step, gate, health, hostops, miglint, migration_ops, records, serving, static, venvs
from . import dblock, edge_host, verify_step
from .hostrun import OK, ROLLED_BACK, HostDeploy
from .layout import release_id


def bundle(options, work: str):
    commit = archive.resolve(options.project, options.ref)
    return commit, archive.build(options.project, commit, work, frontend=options.frontend)


def release_name(commit) -> str:
    return release_id(commit.short)


def connect(run: HostDeploy, transport) -> None:
    run.transport = transport
    run.step("connect", lambda: transport.open() or f"connected to {getattr(transport, 'label', transport.name)}")


def lock(run: HostDeploy, holder: dict) -> None:
    def take():
        held = run.transport.hold_lock(run.layout.lock, holder)
        try:
            held.__enter__()
        except LockHeld:
            run.lock_refused = True
            raise
        run.held = held
        return f"holding {run.layout.lock} (freed by the OS if this run dies)"

    run.step("lock", take)


def unlock(run: HostDeploy) -> None:
    if run.held is not None:
        held, run.held = run.held, None
        held.__exit__(None, None, None)


# --- before any change: stage and gate -------------------------------------------------------------


def read_env(run: HostDeploy) -> str:
    path, user = run.config.env_file, run.config.app_user
    info = run.transport.lstat(path)
    if info is None:
        raise gate.GateRefused(f"no production env file at {path}: put it there (invoke fix-prod writes one), "
                               f"mode 0600, owned by {user}")
    if info.kind != "file":
        raise gate.GateRefused(f"{path} is a {info.kind}, not a file")
    if info.mode & 0o077:
        raise gate.GateRefused(f"{path} is readable by others (mode {info.mode:04o}): chmod 600 it, owned by {user}")
    owner = run.transport.run(["id", "-u", user], timeout=60)
    if owner.returncode != 0:
        raise gate.GateRefused(f"the app user {user} does not exist on this host (create it: useradd --system {user})")
    if owner.stdout.strip() != str(info.uid):
        raise gate.GateRefused(f"{path} is not owned by the app user {user}: chown {user} it (mode 0600)")
    text = run.transport.read_text(path)
    run.env = parse_env_text(None, text).values
    run.secrets |= secret_values(run.env)
    return f"production env: {len(run.env)} key(s) from {run.config.env_file}"


def stage(run: HostDeploy, dep) -> None:
    t, layout, b = run.transport, run.layout, dep.bundle

    def prepare():
        run.created = hostops.prepare(t, layout)
        strays = hostops.remove_strays(t, layout)
        made = f"made {len(run.created)} folder(s)" if run.created else "layout ready"
        return made + (f"; removed what a killed run left: {', '.join(strays)}" if strays else "")

    run.step("prepare", prepare)
    run.step("env", lambda: read_env(run))
    history = records.history(t, layout)
    run.previous = history.current
    venv_exists = t.lstat(posixpath.join(layout.venv(venvs.requirements_hash(b.requirements_text, host_python_version(run))),
                                         venvs.COMPLETE)) is not None
    run.step("disk", lambda: gate.disk(t, layout.deploy_to, gate.space_needed(b.size, venv_exists, 0)))
    run.step("upload", lambda: f"{b.size >> 10} KiB unpacked in {hostops.upload_tree(t, layout, dep.rid, b.path)}")

    def venv():
        run.venv, run.venv_created, seconds = venvs.ensure(t, layout, b.requirements_text, run.config.python,
                                                           run.config.pip_args)
        venvs.link(t, layout, layout.release_temp(dep.rid), run.venv)
        return f"{'built' if run.venv_created else 'reused'} {run.venv}"

    run.step("venv", venv)
    temp = layout.release_temp(dep.rid)
    python = posixpath.join(temp, ".venv", "bin", "python")

    def audit():
        result = gate.audit(t, temp, python, run.config.env_file, dep.options.allow_blocked)
        run.facts, run.gate_lines = result.facts, result.lines
        run.secrets |= result.facts.secrets()
        return "; ".join(result.lines)

    run.step("gate", audit)

    def plan():
        run.plan = {"release": dep.rid, "commit": dep.commit.sha, "live": run.previous,
                    "venv": ("build " if run.venv_created else "reuse ") + run.venv,
                    "services": service_spec(run, dep).services, "gate": run.gate_lines}
        return f"restart {', '.join(run.plan['services'])}"

    run.step("plan", plan)
    if edge_host.wanted(run):  # the nginx site (edge_host.py): checked before any change
        run.step("edge gate", lambda: edge_host.gate(run, temp))


def host_python_version(run: HostDeploy) -> str:
    return venvs.python_version(run.transport, run.config.python)


def migration_gate(run: HostDeploy, dep) -> str:
    temp = run.layout.release_temp(dep.rid)
    manage_dir = posixpath.join(temp, dep.bundle.manage_rel)
    answer = migration_ops.unapplied(run.transport, posixpath.join(temp, ".venv", "bin", "python"), manage_dir, run.env)
    if answer.get("error"):
        raise gate.GateRefused(f"the migration plan cannot be read: {answer['error'].get('message')}")
    issues = miglint.lint(answer["plan"], answer.get("vendor") or run.facts.database.get("vendor") or "")
    ok, lines = miglint.gate(issues, dep.options.allow_unsafe_migrations)
    names = [f"{m['app']}.{m['name']}" for m in answer["plan"]]
    for other in dep.runs:
        other.plan["migrations"] = {"apply": names, "lint": lines}
    if not ok:
        raise gate.GateRefused("; ".join(lines))
    return f"{len(names)} migration(s) to apply" + (f"; {'; '.join(lines)}" if lines else "; none unsafe")


def discard(run: HostDeploy, dep) -> None:
    """Nothing staged stays behind a deploy that stopped before the switch (or a --check)."""
    try:
        hostops.discard_temp(run.transport, run.layout, dep.rid)
        if run.venv_created and dep.options.check:
            venvs.remove(run.transport, run.layout, [run.venv])
    except Exception:  # the host is gone: the next deploy removes stray temp folders
        pass


# --- changes, still invisible to users: the release in place, static files, the database ----------


def place(run: HostDeploy, dep) -> None:
    t, layout = run.transport, run.layout
    temp, final = layout.release_temp(dep.rid), layout.release(dep.rid)
    release = records.new_release(dep.rid, dep.commit, posixpath.basename(run.venv))
    run.step("release", lambda: f"in place: {hostops.finish_release(t, layout, dep.rid, run.venv, release)}")
    settings = run.facts.settings
    run.step("shared", lambda: "; ".join(static.link_shared_dirs(t, layout, settings, temp, final)) or "nothing to link")
    python, manage_dir = layout.release_python(dep.rid), posixpath.join(final, dep.bundle.manage_rel)
    run.step("collectstatic", lambda: static.collect(t, python, manage_dir, run.env, settings))


def database(run: HostDeploy, dep) -> None:
    t, layout = run.transport, run.layout
    db = dbrestore.Database.of(run.facts, run.env)
    db.python = layout.release_python(dep.rid)
    manage_dir = posixpath.join(layout.release(dep.rid), dep.bundle.manage_rel)
    backup = db_step.backup_path(layout, dep.rid, db.vendor)
    with contextlib.ExitStack() as held:  # one deploy at a time migrates this database (dblock.py)
        run.step("migration lock", lambda: held.enter_context(dblock.migration_lock(t, db.python, db, dep.holder)))
        database_steps(run, dep, db, manage_dir, backup)


def database_steps(run: HostDeploy, dep, db, manage_dir: str, backup: str) -> None:
    t, layout = run.transport, run.layout
    run.step("backup", lambda: db_step.take_backup(t, db, backup))
    records.mark(t, layout, dep.rid, backup=backup)
    if dep.options.fetch_backup:
        run.step("fetch backup", lambda: f"saved {db_step.fetch(t, backup, dep.options.fetch_backup, run.name)}")
    settings_module = (run.facts.probe or {}).get("settings_module")
    run.step("rehearse", lambda: db_step.rehearse(t, db, backup, layout.backups, run.env, manage_dir, settings_module))

    def migrate():
        line, applied = db_step.migrate(t, db, layout.release_python(dep.rid), manage_dir, run.env, backup)
        for other in dep.runs:
            other.plan.setdefault("applied", applied)
        return line

    run.step("migrate", migrate)


def mark_failed(run: HostDeploy, rid: str, reason: str) -> None:
    try:
        records.mark(run.transport, run.layout, rid, status=records.FAILED, reason=run.clean(reason)[:300])
    except Exception:
        pass


# --- going live --------------------------------------------------------------------------------------


def service_spec(run: HostDeploy, dep):
    return serving.spec_for(run.config, run.facts, dep.bundle.manage_rel, beat=run.name == dep.beat_host)


def go_live(run: HostDeploy, dep) -> None:
    t, layout, spec = run.transport, run.layout, service_spec(run, dep)
    run.step("switch", lambda: hostops.switch(t, layout, dep.rid) or f"current -> releases/{dep.rid}")
    run.switched = True
    run.step("own shared", lambda: hostops.own_shared(t, layout, run.config.app_user), fatal=False)
    try:
        run.step("services", lambda: serving.install_and_restart(t, spec, layout.release(dep.rid)))
        if edge_host.wanted(run):  # the nginx site, after the app server is up, before the health check
            edge_host.steps(run, layout.release(dep.rid))
        run.step("health", lambda: check_health(run, dep, dep.rid))
        records.mark(t, layout, dep.rid, status=records.OK)
    except Exception as exc:
        reason = run.error or str(exc)
        roll_back(run, dep, reason)
    if run.status == OK:  # what a browser receives, from the controller (verify_step.py): reported, never rolled back
        verify_step.step(run)


def check_health(run: HostDeploy, dep, rid: str) -> str:
    checks = health.check(run.transport, python=run.layout.release_python(rid),
                          manage_dir=posixpath.join(run.layout.release(rid), dep.manage_rel), env=run.env,
                          url=run.config.health_url, host_header=None, https_proxy_header=None,
                          attempts=dep.options.health_attempts, interval=dep.options.health_interval,
                          celery_app=serving.celery_app(run.facts), expect_worker=serving.runs_worker(run.facts))
    ok, line = health.summary(checks)
    if not ok:
        raise gate.GateRefused(line)
    return line


def roll_back(run: HostDeploy, dep, reason: str) -> None:
    """Back to the release that was live, restarted and checked; the new one is marked failed."""
    mark_failed(run, dep.rid, reason)
    if not run.previous:
        run.error = f"{reason}; no previous release to go back to"
        return
    spec = service_spec(run, dep)
    try:
        run.step("rollback", lambda: hostops.switch(run.transport, run.layout, run.previous)
                 or serving.install_and_restart(run.transport, spec, run.layout.release(run.previous)))
        run.step("health after rollback", lambda: check_health(run, dep, run.previous), fatal=False)
        run.status, run.error = ROLLED_BACK, f"{reason}; rolled back to {run.previous}"
    except Exception:
        run.error = f"{reason}; the rollback to {run.previous} failed too: {run.error}"


def cleanup(run: HostDeploy, dep) -> None:
    def clean():
        history = records.history(run.transport, run.layout)
        doomed = history.to_remove(dep.options.keep)
        for rid in doomed:
            old = history.get(rid)
            hostops.remove_release(run.transport, run.layout, rid)
            if old and old.backup:
                run.transport.remove(old.backup)
        kept = [run.layout.release(r.id) for r in history.releases if r.id not in doomed]
        unused = venvs.unused(run.transport, run.layout, kept)
        venvs.remove(run.transport, run.layout, unused)
        return f"removed {len(doomed)} old release(s) and {len(unused)} unused venv(s); kept {len(kept)}"

    run.step("cleanup", clean, fatal=False)
    if run.status == OK:
        run.status = "changed"
