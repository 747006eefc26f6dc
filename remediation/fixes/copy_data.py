"""--copy-data: move the SQLite data into the new PostgreSQL database and prove it arrived.

The SQLite file is never modified: a copy is taken with the sqlite3 backup API, the copy is
migrated to the project's latest schema, dumped with natural keys (content types and
permissions are recreated by migrate on the target), loaded into the migrated target, and the
row count of every table is compared before success is reported.
"""

from __future__ import annotations

import os

from ..changes import ChangeFailed
from ..manage import dbadmin, last_error_line, manage
from .base import CHANGED, FAILED, OK, Outcome

NAME = "copy_data"
REPAIRS = ()
SKIP_TABLES = ["django_migrations", "django_content_type", "auth_permission", "django_session"]
EXCLUDE = ("contenttypes", "auth.permission", "sessions")


def sqlite_counts(ctx, path: str) -> dict[str, int]:
    """Row count per table of a SQLite file, read on its host (read-only)."""
    found = dbadmin(ctx.transport, ctx.facts.python, {"action": "sqlite_counts", "path": path, "skip": SKIP_TABLES})
    if found.get("error"):
        raise ChangeFailed(f"copy data: reading {path} failed: {found['error']}")
    return found["counts"]


def plan(ctx) -> Outcome:
    if not ctx.options.copy_data:
        return Outcome(OK, "not asked (--copy-data)")
    source = ctx.facts.database
    if source.get("vendor") != "sqlite" or not source.get("reachable"):
        return Outcome(OK, "the current database is not a readable SQLite file; nothing to copy")
    if not ctx.options.database_url:
        return Outcome(FAILED, "--copy-data needs --database-url")
    try:
        source_counts = sqlite_counts(ctx, source["name"])
    except ChangeFailed as exc:
        return Outcome(FAILED, str(exc))
    target = dbadmin(ctx.transport, ctx.facts.python,
                     {"action": "count", "url": ctx.options.database_url, "tables": sorted(source_counts)})
    if not target.get("error") and any(target["counts"].values()):
        return Outcome(OK, f"target already holds data ({sum(target['counts'].values())} rows); not copied again")
    total = sum(source_counts.values())
    return Outcome(CHANGED, f"copy {total} rows in {len(source_counts)} tables from SQLite", action=lambda: copy(ctx, source),
                   action_label="copy data")


def copy(ctx, source) -> str:
    folder = os.path.join(ctx.record.folder, "copy-data")
    ctx.transport.makedirs(folder)
    snapshot, dump = os.path.join(folder, "source.sqlite3"), os.path.join(folder, "data.json")
    python, manage_dir = ctx.facts.python, str(ctx.facts.manage_dir)
    try:
        done = dbadmin(ctx.transport, python, {"action": "sqlite_backup", "src": source["name"], "dst": snapshot})
        if done.get("error"):
            raise ChangeFailed(f"copy data: snapshot of the SQLite file failed: {done['error']}")
        sqlite_env = {**ctx.env.merged(), "DATABASE_URL": f"sqlite:///{snapshot}"}
        for step, env, args in (
            ("migrating the SQLite copy", sqlite_env, ("migrate", "--noinput")),
            ("dumpdata", sqlite_env, ("dumpdata", "--natural-foreign", "--natural-primary",
                                      *[a for e in EXCLUDE for a in ("-e", e)], "--output", dump)),
            ("loaddata", ctx.env.merged(), ("loaddata", dump)),
        ):
            result = manage(ctx.transport, python, manage_dir, env, *args)
            if result.returncode != 0:
                raise ChangeFailed(f"copy data: {step} failed: {last_error_line(result, env)}")
        expected = sqlite_counts(ctx, snapshot)
        names = sorted(expected)
        target = dbadmin(ctx.transport, python, {"action": "count", "url": ctx.options.database_url, "tables": names})
        if target.get("error"):
            raise ChangeFailed(f"copy data: counting rows in the target failed: {target['error']}")
        wrong = [f"{n} {expected[n]} != {target['counts'].get(n)}" for n in names if expected[n] != target["counts"].get(n)]
        if wrong:
            raise ChangeFailed(f"copy data: row counts differ: {'; '.join(wrong)}")
        return f"copied {sum(expected.values())} rows; every table's row count matches ({len(names)} tables)"
    finally:
        for path in (snapshot, dump):
            ctx.transport.remove(path)
