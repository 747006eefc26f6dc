"""Scratch databases, swaps and migration rehearsals, in the target project's interpreter.

Streamed over stdin like ``dbadmin.py`` (config on the first line, one JSON document out), with
whichever PostgreSQL driver the project has. Actions (``config["action"]``):

- ``sqlite_state`` / ``pg_state``: the tables and the ``django_migrations`` rows of a database, to
  compare a restore with its backup;
- ``pg_scratch``: create an empty database with the owner, encoding, locale, ACL and settings of
  ``name`` (a restore or a rehearsal goes there first, never straight into the real database);
- ``pg_swap``: put ``scratch`` in the place of ``name``: connections to ``name`` refused, the app's
  sessions closed, the names swapped, the old database dropped;
- ``pg_drop``: drop a scratch database, closing its sessions;
- ``rehearse``: import the project's settings, point the default database's NAME at a scratch copy
  before Django starts, and run ``migrate`` there (cwd: the manage.py folder, env: the run's env).

The PostgreSQL actions connect with ``params`` (host, port, user, password); databases are created
and renamed by that role when it may create databases, else by ``admin`` (user postgres on the
same server). pg_restore --clean is not used for restores: it drops only what the dump holds.
"""

import json
import os
import re
import sys
import time
from contextlib import closing

MARKER = "@@REMEDIATION-SCRATCHDB@@"


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value):
    return "'" + value.replace("'", "''") + "'"


def pg_open(params, dbname):
    """Like connect(), from connection parameters (a host may be a socket folder, not a URL part)."""
    kwargs = {"host": params.get("host") or "", "port": int(params.get("port") or 5432), "user": params.get("user") or "",
              "password": params.get("password") or "", "dbname": dbname, "connect_timeout": 5}
    kwargs = {k: v for k, v in kwargs.items() if v != ""}
    try:
        import psycopg

        return psycopg.connect(autocommit=True, **kwargs)
    except ImportError:
        import psycopg2

        connection = psycopg2.connect(**kwargs)
        connection.autocommit = True  # and never ``with connection``: psycopg2 would open a transaction
        return connection


def pg_maintenance(config):
    """A connection to the maintenance database by a role that may create databases."""
    try:
        conn = pg_open(config["params"], "postgres")
    except Exception:
        if not config.get("admin"):
            raise
        return pg_open(config["admin"], "postgres")
    cur = conn.cursor()
    cur.execute("SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user")
    if cur.fetchone()[0] or not config.get("admin"):
        return conn
    conn.close()
    return pg_open(config["admin"], "postgres")


ACL_ITEM = re.compile(r'^(?:"((?:[^"]|"")*)"|([^=]*))=([A-Za-z*]*)/')
DATABASE_PRIVILEGES = {"C": "CREATE", "T": "TEMPORARY", "c": "CONNECT"}
GUC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def pg_copy_acl(cur, scratch, acl):
    cur.execute(f"REVOKE ALL ON DATABASE {quote_ident(scratch)} FROM PUBLIC")
    for item in acl:
        match = ACL_ITEM.match(item)
        if not match:
            continue
        grantee = match.group(1).replace('""', '"') if match.group(1) is not None else match.group(2)
        privileges = match.group(3)
        for letter, name in DATABASE_PRIVILEGES.items():
            if letter in privileges:
                option = " WITH GRANT OPTION" if (letter + "*") in privileges else ""
                who = quote_ident(grantee) if grantee else "PUBLIC"
                cur.execute(f"GRANT {name} ON DATABASE {quote_ident(scratch)} TO {who}{option}")


def pg_copy_settings(cur, scratch, oid):
    """ALTER DATABASE/ROLE ... SET, copied through the session (FROM CURRENT): no quoting to get wrong."""
    cur.execute("SELECT r.rolname, s.setconfig FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole "
                "WHERE s.setdatabase = %s", (oid,))
    for role, items in cur.fetchall():
        for item in items or []:
            key, _, value = item.partition("=")
            if not GUC_NAME.match(key):
                continue
            cur.execute("SELECT set_config(%s, %s, false)", (key, value))
            where = f"ROLE {quote_ident(role)} IN DATABASE" if role else "DATABASE"
            cur.execute(f"ALTER {where} {quote_ident(scratch)} SET {key} FROM CURRENT")


def pg_scratch(config):
    name, scratch = config["name"], config["scratch"]
    with closing(pg_maintenance(config)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype, "
                    "datacl::text[], oid FROM pg_database WHERE datname = %s", (name,))
        row = cur.fetchone()
        if row is None:  # the database itself is gone: the restore brings it back, owned by the app's role
            cur.execute(f"CREATE DATABASE {quote_ident(scratch)} OWNER {quote_ident(config['params']['user'])} "
                        "TEMPLATE template0")
            return {"created": scratch}
        owner, encoding, collate, ctype, acl, oid = row
        cur.execute(f"CREATE DATABASE {quote_ident(scratch)} OWNER {quote_ident(owner)} TEMPLATE template0 "
                    f"ENCODING {quote_literal(encoding)} LC_COLLATE {quote_literal(collate)} LC_CTYPE {quote_literal(ctype)}")
        try:
            if acl is not None:
                pg_copy_acl(cur, scratch, acl)
            pg_copy_settings(cur, scratch, oid)
        except Exception:
            cur.execute(f"DROP DATABASE IF EXISTS {quote_ident(scratch)}")
            raise
        return {"created": scratch}


def pg_close_sessions(cur, name, wait=10.0):
    """End every other session on ``name``; pg_terminate_backend only asks, so wait until they are gone."""
    others = "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    cur.execute("SELECT pg_terminate_backend(pid) " + others, (name,))
    closed = len(cur.fetchall())
    deadline = time.monotonic() + wait
    while True:
        cur.execute("SELECT count(*) " + others, (name,))
        left = cur.fetchone()[0]
        if not left:
            return closed
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} session(s) on {name} did not close within {wait:g}s")
        time.sleep(0.05)


def pg_swap(config):
    name, scratch, old = config["name"], config["scratch"], config["old"]
    with closing(pg_maintenance(config)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT datallowconn FROM pg_database WHERE datname = %s", (name,))
        row = cur.fetchone()
        closed = 0
        if row is not None:
            allow = "true" if row[0] else "false"
            cur.execute(f"ALTER DATABASE {quote_ident(name)} WITH ALLOW_CONNECTIONS false")
            try:
                closed = pg_close_sessions(cur, name)
                cur.execute(f"ALTER DATABASE {quote_ident(name)} RENAME TO {quote_ident(old)}")
            except Exception:
                cur.execute(f"ALTER DATABASE {quote_ident(name)} WITH ALLOW_CONNECTIONS {allow}")
                raise
        try:
            cur.execute(f"ALTER DATABASE {quote_ident(scratch)} RENAME TO {quote_ident(name)}")
        except Exception:
            if row is not None:
                cur.execute(f"ALTER DATABASE {quote_ident(old)} RENAME TO {quote_ident(name)}")
                cur.execute(f"ALTER DATABASE {quote_ident(name)} WITH ALLOW_CONNECTIONS {allow}")
            raise
        if row is not None:
            pg_close_sessions(cur, old)
            cur.execute(f"DROP DATABASE {quote_ident(old)}")
        return {"closed": closed}


def pg_drop(config):
    with closing(pg_maintenance(config)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (config["scratch"],))
        if cur.fetchone() is None:
            return {"dropped": False}
        cur.execute(f"ALTER DATABASE {quote_ident(config['scratch'])} WITH ALLOW_CONNECTIONS false")
        pg_close_sessions(cur, config["scratch"])
        cur.execute(f"DROP DATABASE IF EXISTS {quote_ident(config['scratch'])}")
        return {"dropped": True}


def pg_drop_rehearsals(config):
    """Rehearsal copies a killed run left beside ``name`` (only ours: ``<name>_rehearsal_<8 hex>``;
    they hold a copy of a backup, nothing else): dropped."""
    pattern = "^" + re.escape(config["name"][:36]) + "_rehearsal_[0-9a-f]{8}$"
    with closing(pg_maintenance(config)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT datname FROM pg_database WHERE datname ~ %s", (pattern,))
        names = sorted(row[0] for row in cur.fetchall())
    for name in names:
        pg_drop({**config, "scratch": name})
    return {"dropped": names}


def pg_state(config):
    """Tables (not those of extensions) and django_migrations rows, as the app's role sees them."""
    with closing(pg_open(config["params"], config["dbname"])) as conn:
        cur = conn.cursor()
        cur.execute("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%' "
                    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
                    "AND d.objid = c.oid AND d.deptype = 'e')")
        tables = sorted(f"{schema}.{table}" for schema, table in cur.fetchall())
        cur.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
        rows = []
        if cur.fetchone()[0]:
            cur.execute("SELECT app, name FROM django_migrations")
            rows = sorted([app, name] for app, name in cur.fetchall())
        return {"tables": tables, "migrations": rows}


def sqlite_state(config):
    import sqlite3

    with closing(sqlite3.connect("file:" + config["path"] + "?mode=ro", uri=True)) as conn:
        tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                        if not r[0].startswith("sqlite_"))
        rows = []
        if "django_migrations" in tables:
            rows = sorted([app, name] for app, name in conn.execute("SELECT app, name FROM django_migrations"))
        return {"tables": tables, "migrations": rows}




def first_line(exc):
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".strip()


def rehearse(config):
    """migrate on the scratch copy; the failing migration is the last one started and not finished."""
    import io

    sys.path.insert(0, os.getcwd())
    if config.get("settings"):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", config["settings"])
    out = io.StringIO()
    error = None
    try:
        import django
        from django.conf import settings

        settings.DATABASES["default"]["NAME"] = config["scratch"]
        django.setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=1, stdout=out, stderr=out)
    except Exception as exc:
        error = first_line(exc)
    text = out.getvalue()
    applied = re.findall(r"^\s*Applying (\S+)\.\.\. OK", text, re.M)
    started = re.findall(r"^\s*Applying (\S+)\.\.\.", text, re.M)
    failed = started[-1] if error and started and (not applied or started[-1] != applied[-1]) else None
    return {"applied": applied, "failed": failed, "error": error}


ACTIONS = {"pg_scratch": pg_scratch, "pg_swap": pg_swap, "pg_drop": pg_drop, "pg_drop_rehearsals": pg_drop_rehearsals,
           "pg_state": pg_state,
           "sqlite_state": sqlite_state, "rehearse": rehearse}


def main():
    config = json.loads(sys.stdin.readline())
    try:
        result = ACTIONS[config["action"]](config)
    except Exception as exc:
        result = {"error": first_line(exc)[:500]}
    print(MARKER + json.dumps(result))


if __name__ == "__main__":
    main()
