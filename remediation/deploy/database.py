"""The database side of a deploy, on the one host that migrates: a backup that is proven to
restore, the new migrations rehearsed on that restored copy, then ``migrate`` for real, and the
backup restored (verified) when the real run fails after the rehearsal passed.

Reuses ``remediation/dbrestore.py`` (fix-prod's migrate uses the same): ``pg_dump -Fc`` or the
SQLite backup API; the dump read back with ``pg_restore --list``; a scratch database restored from
it, migrated, dropped.
"""

from __future__ import annotations

import os
import posixpath
import re

from .. import dbrestore
from ..changes import ChangeFailed
from ..manage import last_error_line, manage
from ..transport import Transport
from .layout import Layout


def backup_path(layout: Layout, rid: str, vendor: str) -> str:
    return posixpath.join(layout.backups, f"{rid}.{'dump' if vendor == 'postgresql' else 'sqlite3'}")


def take_backup(transport: Transport, db: dbrestore.Database, target: str) -> str:
    """Back up, then read the backup back: refused when empty or unreadable."""
    if db.vendor == "postgresql":
        missing = dbrestore.missing_tools(transport)
        if missing:
            raise ChangeFailed(f"{' and '.join(missing)} not found on the PATH: no verified backup, nothing migrated")
    dbrestore.backup(transport, db, target)
    info = transport.lstat(target)
    size = int(transport.run(["stat", "-c", "%s", target], timeout=60).stdout.strip() or 0) if info else 0
    if not size:
        transport.remove(target)
        raise ChangeFailed(f"the backup {posixpath.basename(target)} is empty: refused, nothing migrated")
    if db.vendor == "postgresql":
        state = dbrestore.archive_state(transport, db, target)  # pg_restore --list, and the migrations' rows
    else:
        state = dbrestore.state(transport, db, target)
    if not state["tables"] and dbrestore.state(transport, db)["tables"]:
        raise ChangeFailed(f"the backup {posixpath.basename(target)} holds no table but the database has some: "
                           "refused, nothing migrated")
    return (f"backup {posixpath.basename(target)}: {size >> 10} KiB, {len(state['tables'])} table(s), "
            f"{len(state['migrations'])} applied migration(s), read back")


def rehearse(transport: Transport, db: dbrestore.Database, backup: str, scratch_folder: str, env: dict,
             manage_dir: str, settings: str | None) -> str:
    """Restore the backup into a scratch database and apply the new migrations there; then drop it
    (and first any copy a killed deploy's rehearsal left behind: we hold the lock)."""
    leftovers = dbrestore.drop_leftover_rehearsals(transport, db)
    done = dbrestore.rehearse(transport, db, backup, scratch_folder, env, manage_dir, settings)
    return done + (f"; dropped {len(leftovers)} copy(ies) a killed rehearsal left" if leftovers else "")


def migrate(transport: Transport, db: dbrestore.Database, python: str, manage_dir: str, env: dict,
            backup: str | None) -> tuple[str, list[str]]:
    """``manage.py migrate`` for real. Returns (what happened, the migrations applied)."""
    result = manage(transport, python, manage_dir, env, "migrate", "--noinput")
    applied = re.findall(r"^\s*Applying (\S+)\.\.\. OK", result.stdout, re.M)
    if result.returncode == 0:
        return f"applied {len(applied)} migration(s)", applied
    failing = re.findall(r"^\s*Applying (\S+)\.\.\.", result.stdout, re.M)
    name = failing[-1] if failing else "(before any migration)"
    error = last_error_line(result, env)
    if not backup:
        raise ChangeFailed(f"migration {name} failed: {error}; no backup to restore")
    try:
        verified = dbrestore.restore(transport, db, backup)
    except ChangeFailed as exc:
        raise ChangeFailed(f"migration {name} failed: {error}; the restore failed too: {exc}") from None
    raise ChangeFailed(f"migration {name} failed: {error}; database restored from the backup ({verified})")


def restore(transport: Transport, db: dbrestore.Database, backup: str) -> str:
    return dbrestore.restore(transport, db, backup)


def fetch(transport: Transport, backup: str, folder: str, host: str) -> str:
    os.makedirs(folder, exist_ok=True)
    local = os.path.join(folder, f"{host}-{posixpath.basename(backup)}")
    transport.get_file(backup, local)
    return local
