"""Apply unapplied migrations: backup, rehearsal on a scratch copy, then the real database; a
failing migration restores the backup, verified (see ``remediation/dbrestore.py``).

Backups: SQLite through the sqlite3 backup API, PostgreSQL through ``pg_dump -Fc``; both in the
run's folder (timestamped; old runs are pruned). ``--no-backup`` skips it (the rehearsal then uses
a temporary copy), ``--no-rehearsal`` skips the rehearsal, each explicitly. The PostgreSQL client
programs a plan needs are looked for while planning, before anything is written.
Models changed without migrations are reported by the audit, never generated here.
"""

from __future__ import annotations

import os
import re

from .. import dbrestore
from ..changes import ChangeFailed
from ..manage import last_error_line, manage
from .base import CHANGED, FAILED, OK, Outcome

NAME = "migrate"
REPAIRS = ("database.migrations_unapplied",)


def plan(ctx) -> Outcome:
    facts = ctx.planned or ctx.facts
    migrations = facts.migrations
    if migrations.get("error"):
        error = migrations["error"]
        return Outcome(FAILED, f"migrations cannot be loaded: {error['type']}: {error['message']} at {error['where']}")
    problems = (migrations.get("plan_check") or {}).get("problems") or []
    if problems:
        first = problems[0]
        return Outcome(FAILED, f"the migration plan cannot be built: {first['message']}"
                               + (f"; {first['fix']}" if first.get("fix") else "") + "; nothing migrated")
    pending = migrations.get("plan") or []
    if not pending and migrations.get("applied_known", True):
        return Outcome(OK, "no unapplied migrations")
    require_tools(ctx, facts)
    label = f"apply {len(pending)} migration(s)" if pending else "apply migrations to the new database"
    if not ctx.options.no_rehearsal:
        label += ", rehearsed on a copy first"
    return Outcome(CHANGED, label, action=lambda: migrate(ctx, facts, pending), action_label="migrate")


def require_tools(ctx, facts) -> None:
    """pg_dump and pg_restore, when a backup or a rehearsal of PostgreSQL needs them: bad input otherwise."""
    from ..runner import UsageError

    if facts.database.get("vendor") != "postgresql" or (ctx.options.no_backup and ctx.options.no_rehearsal):
        return
    missing = dbrestore.missing_tools(ctx.transport)
    if missing:
        raise UsageError(f"{ctx.transport.name}: {' and '.join(missing)} not found on the PATH; the database backup "
                         "and the migration rehearsal need the PostgreSQL client programs (or pass --no-backup "
                         "--no-rehearsal)")


def migrate(ctx, facts, pending) -> str:
    env = ctx.env.merged()
    db = dbrestore.Database.of(facts, env)
    folder = os.path.join(ctx.record.folder, "db")
    ctx.transport.makedirs(folder)
    backup = None if ctx.options.no_backup else backup_database(ctx, db, folder)
    notes = []
    if not ctx.options.no_rehearsal:
        notes.append(rehearse(ctx, facts, db, env, folder, backup))
    result = manage(ctx.transport, facts.python, str(facts.manage_dir), env, "migrate", "--noinput")
    if result.returncode == 0:
        applied = len(re.findall(r"^\s*Applying \S+\.\.\. OK", result.stdout, re.M))
        notes += [f"backup {os.path.basename(backup)}"] if backup else []
        return f"applied {applied} migration(s)" + "".join(f"; {note}" for note in notes)
    failing = re.findall(r"^\s*Applying (\S+)\.\.\.", result.stdout, re.M)
    name = failing[-1] if failing else "(before any migration)"
    error = last_error_line(result, env)
    if not backup:
        raise ChangeFailed(f"migration {name} failed: {error}; no backup (--no-backup)")
    try:
        verified = dbrestore.restore(ctx.transport, db, backup)
    except ChangeFailed as exc:
        raise ChangeFailed(f"migration {name} failed: {error}; the restore failed too: {exc}") from None
    raise ChangeFailed(f"migration {name} failed: {error}; database restored from the backup ({verified})")


def backup_database(ctx, db, folder: str) -> str:
    suffix = ".dump" if db.vendor == "postgresql" else ""
    target = os.path.join(folder, os.path.basename(db.name) + suffix)
    dbrestore.backup(ctx.transport, db, target)
    ctx.record.record_database(db.entry(target))
    return target


def rehearse(ctx, facts, db, env: dict, folder: str, backup: str | None) -> str:
    """On a copy of the backup; with --no-backup, of a temporary one removed afterwards."""
    source = backup
    try:
        if source is None:
            source = os.path.join(folder, "rehearsal-source" + (".dump" if db.vendor == "postgresql" else ""))
            dbrestore.backup(ctx.transport, db, source)
        settings = (facts.probe or {}).get("settings_module")
        return dbrestore.rehearse(ctx.transport, db, source, folder, env, str(facts.manage_dir), settings)
    finally:
        if backup is None and source is not None:
            ctx.transport.remove(source)
