"""Database backups that restore for real, and migration rehearsals on a scratch copy.

A restore makes the database equal to its backup, then proves it:
- SQLite: the sqlite3 backup API copies every page of the backup over the database file;
- PostgreSQL: the dump is restored into a new database (owner, encoding, locale, ACL and settings
  of the real one), compared with the dump, then swapped in by name with the app's sessions closed
  and new connections refused meanwhile; the old database is dropped. ``pg_restore --clean`` is not
  a restore: it drops only what the dump holds, so tables created after the dump survive.
Either way the table list and the ``django_migrations`` rows are compared with the backup's after
the fact (for a dump, read from the archive itself with ``pg_restore -l`` and ``-a``).

A rehearsal applies the unapplied migrations to a scratch copy (SQLite: a copy of the backup;
PostgreSQL: the fresh dump restored into a scratch database, which also proves the dump restores)
before the real database is touched; the scratch copy is removed afterwards, also on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .changes import ChangeFailed
from .masking import scrub, secret_values
from .transport import SCRIPT_BOOTSTRAP, Transport, TransportError, interrupts_deferred

SCRIPT = (Path(__file__).resolve().parent / "scratchdb.py").read_text(encoding="utf-8")
MARKER = "@@REMEDIATION-SCRATCHDB@@"
PG_TOOLS = ("pg_dump", "pg_restore")
PASSWORD_KEYS = ("DB_PASSWORD", "DATABASE_PASSWORD", "POSTGRES_PASSWORD", "PGPASSWORD")


@dataclass
class Database:
    """The default database of a project, as its settings name it, and how to reach it."""

    vendor: str
    name: str
    host: str = ""
    port: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    python: str = "python3"

    @classmethod
    def of(cls, facts, env: dict) -> Database:
        db = facts.database
        read = getattr(facts, "env_reads", None) or {}
        return cls(vendor=db.get("vendor") or "", name=db.get("name") or "", host=db.get("host") or "",
                   port=str(db.get("port") or ""), user=db.get("user") or "", password=password_from(env, db, read),
                   python=facts.python)

    @classmethod
    def from_entry(cls, entry: dict, python: str, env: dict | None = None) -> Database:
        """A database recorded in a run's manifest (no password there: ``env`` or .pgpass/trust)."""
        return cls(vendor=entry["vendor"], name=entry["name"], host=entry.get("host") or "", port=str(entry.get("port") or ""),
                   user=entry.get("user") or "", password=password_from(env or {}, entry), python=entry.get("python") or python)

    def entry(self, backup: str) -> dict:
        return {"vendor": self.vendor, "name": self.name, "host": self.host, "port": self.port, "user": self.user,
                "python": self.python, "backup": backup}

    def pg_args(self, name: str | None = None) -> list[str]:
        args = ["-h", self.host or "localhost", "-p", self.port or "5432", "-U", self.user or "postgres"]
        return args + ([name] if name else [])

    @property
    def pgenv(self) -> dict:
        return {"PGPASSWORD": self.password} if self.password else {}

    @property
    def params(self) -> dict:
        return {"host": self.host, "port": self.port, "user": self.user or "postgres", "password": self.password}

    @property
    def admin(self) -> dict:
        return {"host": self.host, "port": self.port, "user": "postgres", "password": ""}


def password_from(env: dict, db: dict, read=()) -> str:
    """The password the settings use: DATABASE_URL's when it names this user, else a DB_PASSWORD-like key
    (the usual names, then those the settings read)."""
    url = env.get("DATABASE_URL") or ""
    try:
        parts = urlsplit(url)
        if parts.password and unquote(parts.username or "") == (db.get("user") or ""):
            return unquote(parts.password)
    except ValueError:
        pass
    read_keys = sorted(k for k in read if re.match(r"(DB|DATABASE|POSTGRES|PG)", k) and "PASS" in k)
    return next((env[key] for key in (*PASSWORD_KEYS, *read_keys) if env.get(key)), "")


def scratch_name(name: str, purpose: str) -> str:
    """A new database name beside ``name`` (PostgreSQL names are at most 63 bytes)."""
    return f"{name[:36]}_{purpose}_{secrets.token_hex(4)}"


def script(transport: Transport, db: Database, config: dict, *, env: dict | None = None, cwd: str | None = None,
           timeout: float = 600) -> dict:
    """Run one action of scratchdb.py in the project's interpreter; errors come back as one line."""
    config = {"params": db.params, "admin": db.admin, **config}
    try:
        result = transport.run([db.python, "-B", "-c", SCRIPT_BOOTSTRAP], input=json.dumps(config) + "\n" + SCRIPT,
                               env=env, cwd=cwd, timeout=timeout)
    except TransportError as exc:
        return {"error": str(exc)}
    found = result.stdout.rfind(MARKER)
    if found < 0:
        last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        return {"error": f"{db.python}: the script did not run ({last[:200]})"}
    answer = json.loads(result.stdout[found + len(MARKER):])
    if answer.get("error"):
        answer["error"] = scrub(answer["error"], {db.password} - {""})
    return answer


def need(answer: dict, what: str) -> dict:
    if answer.get("error"):
        raise ChangeFailed(f"{what}: {answer['error']}")
    return answer


def missing_tools(transport: Transport, tools=PG_TOOLS) -> list[str]:
    """The PostgreSQL client programs not on the host's PATH (asked before anything is written)."""
    probe = "for t in " + " ".join(tools) + '; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done'
    try:
        result = transport.run(["sh", "-c", probe], timeout=30)
    except TransportError:
        return list(tools)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def run_tool(transport: Transport, db: Database, args: list[str], what: str, timeout: float = 3600) -> None:
    try:
        result = transport.run(args, env=db.pgenv, timeout=timeout)
    except TransportError as exc:
        raise ChangeFailed(f"{what}: {exc}") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit status {result.returncode}"
        raise ChangeFailed(f"{what}: {scrub(reason.strip(), {db.password} - {''})[:300]}")


# --- backup and the backup's own state -----------------------------------------------------------


def backup(transport: Transport, db: Database, target: str) -> None:
    if db.vendor == "sqlite":
        need(script_sqlite_copy(transport, db, db.name, target), f"backing up {db.name} failed, nothing migrated")
    elif db.vendor == "postgresql":
        run_tool(transport, db, ["pg_dump", "-Fc", "-f", target, *db.pg_args(db.name)], "pg_dump failed, nothing migrated")
    else:
        raise ChangeFailed(f"no backup method for {db.vendor}; pass --no-backup to migrate without one")


def script_sqlite_copy(transport: Transport, db: Database, src: str, dst: str, restore: bool = False) -> dict:
    from .manage import dbadmin

    return dbadmin(transport, db.python, {"action": "sqlite_backup", "src": src, "dst": dst, "restore": restore})


TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (.+) (\S+)$")


def archive_state(transport: Transport, db: Database, archive: str) -> dict:
    """The tables and django_migrations rows a pg_dump archive holds, read from the archive."""
    listing = transport.run(["pg_restore", "-l", archive], timeout=600)
    if listing.returncode != 0:
        raise ChangeFailed(f"cannot read the dump {os.path.basename(archive)}: {listing.stderr.strip()[:200]}")
    tables = sorted(f"{m.group(1)}.{m.group(2)}" for m in map(TOC_TABLE.match, listing.stdout.splitlines()) if m)
    rows: list = []
    if any(t.endswith(".django_migrations") for t in tables):
        data = transport.run(["pg_restore", "-a", "-t", "django_migrations", "-f", "-", archive], timeout=600)
        rows = copy_rows(data.stdout, ("app", "name"))
    return {"tables": tables, "migrations": sorted(rows)}


def copy_rows(text: str, columns: tuple[str, ...]) -> list[list[str]]:
    """The chosen columns of the rows of the COPY blocks in a SQL script made by pg_restore."""
    rows, indexes = [], None
    for line in text.splitlines():
        if indexes is None:
            header = re.match(r"^COPY \S+ \((.*)\) FROM stdin;$", line)
            if header:
                names = [n.strip().strip('"') for n in header.group(1).split(",")]
                indexes = [names.index(c) for c in columns]
        elif line == "\\.":
            indexes = None
        else:
            values = [unescape_copy(v) for v in line.split("\t")]
            rows.append([values[i] for i in indexes])
    return rows


def unescape_copy(value: str) -> str:
    escapes = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), value)


def state(transport: Transport, db: Database, name: str | None = None) -> dict:
    if db.vendor == "sqlite":
        return need(script(transport, db, {"action": "sqlite_state", "path": name or db.name}), "reading the database failed")
    return need(script(transport, db, {"action": "pg_state", "dbname": name or db.name}), "reading the database failed")


def differences(found: dict, expected: dict) -> str | None:
    """What differs between a database and its backup, in a few words; None when they are equal."""
    parts = []
    extra, lost = sorted(set(found["tables"]) - set(expected["tables"])), sorted(set(expected["tables"]) - set(found["tables"]))
    if extra:
        parts.append(f"{len(extra)} table(s) not in the backup ({', '.join(extra[:5])})")
    if lost:
        parts.append(f"{len(lost)} table(s) of the backup missing ({', '.join(lost[:5])})")
    if [list(r) for r in found["migrations"]] != [list(r) for r in expected["migrations"]]:
        parts.append(f"django_migrations has {len(found['migrations'])} row(s), the backup {len(expected['migrations'])}")
    return "; ".join(parts) or None


# --- restore --------------------------------------------------------------------------------------


def restore(transport: Transport, db: Database, backup_path: str) -> str:
    """Make the database equal to the backup and verify it; returns what was verified."""
    if transport.file_mode(backup_path) is None:
        raise ChangeFailed(f"restoring {os.path.basename(db.name)} failed: the backup {backup_path} does not exist")
    if db.vendor == "sqlite":
        expected = state(transport, db, backup_path)
        need(script_sqlite_copy(transport, db, backup_path, db.name, restore=True), f"restoring {db.name} failed")
        closed = ""
    elif db.vendor == "postgresql":
        missing = missing_tools(transport, ("pg_restore",))
        if missing:
            raise ChangeFailed(f"restoring {db.name} failed: {', '.join(missing)} is not on the PATH")
        expected = archive_state(transport, db, backup_path)
        closed = restore_postgres(transport, db, backup_path, expected)
    else:
        raise ChangeFailed(f"no restore method for {db.vendor}")
    problem = differences(state(transport, db), expected)
    if problem:
        raise ChangeFailed(f"restored {os.path.basename(db.name)} but it differs from the backup: {problem}")
    return (f"verified: {len(expected['tables'])} table(s) and {len(expected['migrations'])} applied migration(s) "
            f"as in the backup{closed}")


def restore_postgres(transport: Transport, db: Database, archive: str, expected: dict) -> str:
    scratch = scratch_name(db.name, "restore")
    try:
        load_scratch(transport, db, archive, scratch, f"restoring {db.name} failed, the database is unchanged")
        problem = differences(state(transport, db, scratch), expected)
        if problem:
            raise ChangeFailed(f"restoring {db.name} failed, the database is unchanged: the restored copy differs "
                               f"from the dump: {problem}")
        swapped = need(script(transport, db, {"action": "pg_swap", "name": db.name, "scratch": scratch,
                                               "old": scratch_name(db.name, "old")}),
                       f"restoring {db.name} failed while swapping in the restored copy")
    finally:
        drop_scratch(transport, db, scratch)
    return f"; {swapped['closed']} session(s) of the app closed" if swapped["closed"] else ""


def load_scratch(transport: Transport, db: Database, archive: str, scratch: str, what: str) -> None:
    need(script(transport, db, {"action": "pg_scratch", "name": db.name, "scratch": scratch}), what)
    run_tool(transport, db, ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
                             *db.pg_args(), "-d", scratch, archive], what)


def drop_scratch(transport: Transport, db: Database, scratch: str) -> None:
    """Always, even while Ctrl-C is pressed (held until the drop is done); a failure is not fatal."""
    with interrupts_deferred():
        script(transport, db, {"action": "pg_drop", "scratch": scratch}, timeout=120)


def drop_leftover_rehearsals(transport: Transport, db: Database) -> list[str]:
    """Scratch copies of an earlier rehearsal that was killed before it could drop them."""
    if db.vendor != "postgresql":
        return []
    return need(script(transport, db, {"action": "pg_drop_rehearsals", "name": db.name}, timeout=300),
                "cannot drop an earlier rehearsal's copy")["dropped"]


# --- rehearsal ------------------------------------------------------------------------------------


def rehearse(transport: Transport, db: Database, source: str, folder: str, env: dict, manage_dir: str,
             settings: str | None) -> str:
    """Apply the unapplied migrations to a scratch copy of ``source`` (a backup); raise if one fails."""
    if db.vendor == "sqlite":
        scratch = os.path.join(folder, "rehearsal-" + os.path.basename(db.name))
        try:
            need(script_sqlite_copy(transport, db, source, scratch), "cannot copy the database for the rehearsal")
            result = script(transport, db, {"action": "rehearse", "scratch": scratch, "settings": settings},
                            env=env, cwd=manage_dir, timeout=3600)
        finally:
            with interrupts_deferred():
                for suffix in ("", "-journal", "-wal", "-shm"):
                    transport.remove(scratch + suffix)
    elif db.vendor == "postgresql":
        scratch = scratch_name(db.name, "rehearsal")
        try:
            load_scratch(transport, db, source, scratch, "rehearsal: the dump does not restore, nothing migrated")
            result = script(transport, db, {"action": "rehearse", "scratch": scratch, "settings": settings},
                            env=env, cwd=manage_dir, timeout=3600)
        finally:
            drop_scratch(transport, db, scratch)
    else:
        raise ChangeFailed(f"no rehearsal method for {db.vendor}; pass --no-rehearsal to migrate without one")
    if result.get("error"):
        failing = f"migration {result['failed']} failed" if result.get("failed") else "migrate failed"
        error = scrub(result["error"], secret_values(env) | ({db.password} - {""}))
        raise ChangeFailed(f"rehearsal on a copy: {failing}: {error}; the real database was not touched")
    return f"rehearsed {len(result['applied'])} migration(s) on a copy"
