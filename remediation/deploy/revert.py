"""``invoke releases`` and ``invoke rollback --release [ID]``.

A rollback switches ``current`` back to the previous good release (or ``ID``), restarts, and checks
health, under the same lock as a deploy. It does not undo migrations: the code of the target
release must know every migration already applied, or it is refused (``--force`` overrides);
``--database`` restores the backup taken before the current release migrated, after a
confirmation, since that loses every write made since.
"""

from __future__ import annotations

import json
import posixpath

from ..facts import ProjectError, gather
from ..runner import UsageError
from . import hostops, phases, records, serving
from .hostrun import HostDeploy

MARKER = "@@DEPLOY-APPLIED@@"

UNKNOWN_APPLIED = r'''
import json, os, sys
config = json.loads(sys.stdin.readline())
os.environ.update(config["env"])
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", config["settings"])
answer = {"unknown": [], "error": None}
try:
    import django
    django.setup()
    from django.db import connections
    from django.db.migrations.loader import MigrationLoader
    loader = MigrationLoader(connections["default"], ignore_no_migrations=True)
    answer["unknown"] = sorted(f"{a}.{n}" for (a, n) in loader.applied_migrations if (a, n) not in loader.disk_migrations
                               and a in {c.label for c in django.apps.apps.get_app_configs()})
except Exception as exc:
    answer["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
print("@@DEPLOY-APPLIED@@" + json.dumps(answer))
'''


def applied_unknown_to(run: HostDeploy, rid: str, manage_dir: str, settings: str) -> list[str]:
    """Migrations applied to the database that release ``rid``'s code does not have."""
    result = run.transport.run([run.layout.release_python(rid), "-B", "-c", UNKNOWN_APPLIED],
                               input=json.dumps({"env": run.env, "settings": settings}) + "\n", cwd=manage_dir,
                               timeout=120)
    found = result.stdout.rfind(MARKER)
    if found < 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"cannot compare migrations with release {rid}: {run.clean(last)[:200]}")
    answer = json.loads(result.stdout[found + len(MARKER):])
    if answer.get("error"):
        raise UsageError(f"cannot compare migrations with release {rid}: {run.clean(answer['error'])}")
    return answer["unknown"]


def list_releases(run: HostDeploy) -> list[dict]:
    history = records.history(run.transport, run.layout)
    return history.to_rows()


def release_facts(run: HostDeploy, rid: str):
    try:
        return gather(run.layout.release(rid), python=run.layout.release_python(rid), env_file=run.config.env_file,
                      transport=run.transport)
    except ProjectError as exc:
        raise UsageError(f"{run.name}: release {rid} cannot be read: {exc}") from None


def rollback(run: HostDeploy, target: str | None, force: bool, database: bool, confirm, dep) -> str:
    """Switch one host back to ``target`` (default: the previous good release); ``dep`` carries the
    run's settings (beat host, health options)."""
    history = records.history(run.transport, run.layout)
    current = history.current
    target = target or history.previous
    if target is None:
        raise UsageError(f"{run.name}: no previous good release to roll back to")
    release = history.get(target)
    if release is None:
        raise UsageError(f"{run.name}: no release {target} (invoke releases lists them)")
    if release.status != records.OK:
        raise UsageError(f"{run.name}: release {target} is {release.status} (never live and healthy); "
                         "it is never a rollback target")
    if target == current:
        raise UsageError(f"{run.name}: release {target} is already current")
    run.step("env", lambda: phases.read_env(run))
    run.facts = run.step("read release", lambda: release_facts(run, target))
    manage_dir = str(run.facts.manage_dir)
    dep.manage_rel = posixpath.relpath(manage_dir, run.layout.release(target))
    settings = (run.facts.probe or {}).get("settings_module") or "config.settings"
    unknown = run.step("migrations", lambda: applied_unknown_to(run, target, manage_dir, settings))
    if unknown and not force and not database:
        raise UsageError(f"{run.name}: release {target} does not know {len(unknown)} applied migration(s) "
                         f"({', '.join(unknown[:5])}): its code may fail on this schema; --force to roll back "
                         "anyway, or --database to restore the backup taken before they ran")
    if database:
        restore_database(run, history.get(current) if current else None, confirm)
    run.previous = current
    spec = serving.spec_for(run.config, run.facts, dep.manage_rel, beat=run.name == dep.beat_host)
    run.step("switch", lambda: hostops.switch(run.transport, run.layout, target) or f"current -> releases/{target}")
    run.switched = True
    run.step("services", lambda: serving.install_and_restart(run.transport, spec, run.layout.release(target)))
    run.step("health", lambda: phases.check_health(run, dep, target))
    return target


def restore_database(run: HostDeploy, current, confirm) -> None:
    from .. import dbrestore

    if current is None or not current.backup:
        raise UsageError(f"{run.name}: the current release has no pre-deploy backup to restore")
    if not confirm(f"{run.name}: restore {current.backup} over the live database? Every write since that "
                   "deploy is lost."):
        raise UsageError(f"{run.name}: not confirmed; nothing was changed")
    facts = run.facts
    db = dbrestore.Database.of(facts, run.env)
    run.step("restore database", lambda: dbrestore.restore(run.transport, db, current.backup))
