"""Apply unapplied migrations, after a backup; restore that backup if a migration fails.

Backups: SQLite through the sqlite3 backup API, PostgreSQL through ``pg_dump -Fc``; both in the
run's folder (timestamped; old runs are pruned). ``--no-backup`` skips it, explicitly.
Models changed without migrations are reported by the audit, never generated here.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

from ..changes import ChangeFailed
from ..manage import dbadmin, last_error_line, manage
from .base import CHANGED, FAILED, OK, Outcome

NAME = "migrate"
REPAIRS = ("database.migrations_unapplied",)


def plan(ctx) -> Outcome:
    facts = ctx.planned or ctx.facts
    migrations = facts.migrations
    if migrations.get("error"):
        error = migrations["error"]
        return Outcome(FAILED, f"migrations cannot be loaded: {error['type']}: {error['message']} at {error['where']}")
    pending = migrations.get("plan") or []
    if not pending and migrations.get("applied_known", True):
        return Outcome(OK, "no unapplied migrations")
    label = f"apply {len(pending)} migration(s)" if pending else "apply migrations to the new database"
    return Outcome(CHANGED, label, action=lambda: migrate(ctx, facts, pending), action_label="migrate")


def migrate(ctx, facts, pending) -> str:
    env = ctx.env.merged()
    backup = None if ctx.options.no_backup else backup_database(ctx, facts, env)
    result = manage(ctx.transport, facts.python, str(facts.manage_dir), env, "migrate", "--noinput")
    if result.returncode == 0:
        applied = len(re.findall(r"^\s*Applying \S+\.\.\. OK", result.stdout, re.M))
        return f"applied {applied} migration(s)" + (f"; backup {os.path.basename(backup)}" if backup else "")
    failing = re.findall(r"^\s*Applying (\S+)\.\.\.", result.stdout, re.M)
    name = failing[-1] if failing else "(before any migration)"
    error = last_error_line(result, env)
    if backup:
        restore_database(ctx, facts, env, backup)
        raise ChangeFailed(f"migration {name} failed: {error}; database restored from the backup")
    raise ChangeFailed(f"migration {name} failed: {error}; no backup (--no-backup)")


def _db(facts, env):
    db = facts.database
    if db.get("vendor") == "postgresql":
        url = urlsplit(env.get("DATABASE_URL", ""))
        return db, {"PGPASSWORD": unquote(url.password or "")} if url.password else {}
    return db, {}


def backup_database(ctx, facts, env) -> str:
    db, pgenv = _db(facts, env)
    folder = os.path.join(ctx.record.folder, "db")
    ctx.transport.makedirs(folder)
    if db.get("vendor") == "sqlite":
        target = os.path.join(folder, os.path.basename(db["name"]))
        done = dbadmin(ctx.transport, facts.python, {"action": "sqlite_backup", "src": db["name"], "dst": target})
        if done.get("error"):
            raise ChangeFailed(f"backing up {db['name']} failed, nothing migrated: {done['error']}")
    elif db.get("vendor") == "postgresql":
        target = os.path.join(folder, f"{db['name']}.dump")
        args = ["pg_dump", "-Fc", "-f", target, "-h", db["host"] or "localhost", "-p", db["port"] or "5432",
                "-U", db["user"] or "postgres", db["name"]]
        result = ctx.transport.run(args, env=pgenv, timeout=3600)
        if result.returncode != 0:
            raise ChangeFailed(f"pg_dump failed, nothing migrated: {last_error_line(result, env)}")
    else:
        raise ChangeFailed(f"no backup method for {db.get('vendor')}; pass --no-backup to migrate without one")
    ctx.record.record_database({"vendor": db["vendor"], "name": db["name"], "host": db.get("host"),
                                "port": db.get("port"), "user": db.get("user"), "backup": target})
    return target


def restore_database(ctx, facts, env, backup: str) -> None:
    db, pgenv = _db(facts, env)
    restore(ctx.transport, {"vendor": db["vendor"], "name": db["name"], "host": db.get("host"), "port": db.get("port"),
                            "user": db.get("user"), "backup": backup}, pgenv, facts.python)


def restore(transport, entry: dict, pgenv: dict, python: str) -> None:
    """Put a recorded database backup back (used after a failed migrate and by rollback)."""
    if entry["vendor"] == "sqlite":
        done = dbadmin(transport, python, {"action": "sqlite_backup", "src": entry["backup"], "dst": entry["name"], "restore": True})
        if done.get("error"):
            raise ChangeFailed(f"restoring {entry['name']} failed: {done['error']}")
        return
    args = ["pg_restore", "--clean", "--if-exists", "--no-owner", "-h", entry["host"] or "localhost",
            "-p", entry["port"] or "5432", "-U", entry["user"] or "postgres", "-d", entry["name"], entry["backup"]]
    result = transport.run(args, env=pgenv, timeout=3600)
    if result.returncode != 0:
        raise ChangeFailed(f"restoring {entry['name']} failed: {last_error_line(result, pgenv)}")
