"""Database chores in the target project's interpreter, streamed over stdin like the probe.

It uses whichever PostgreSQL driver the project has (psycopg 3 or psycopg2), so it works
wherever the project itself can reach its database, and it prints one JSON document (naming
the driver it used).

Actions (``config["action"]``):
- ``inspect``: does the role exist, does the database exist (read-only);
- ``create``: create the role (with its password) and the database owned by it, if missing;
- ``count``: row counts of the given tables in the target database (``null`` for a table that does
  not exist);
- ``sqlite_backup``: copy ``src`` to ``dst`` with the sqlite3 backup API (``src`` opened read-only
  unless ``restore`` is set), mode 0600;
- ``sqlite_counts``: the row count of every table of ``path`` but ``skip``, read-only.
"""

import contextlib
import json
import sys
from urllib.parse import unquote, urlsplit


@contextlib.contextmanager
def connected(url, dbname=None):
    """An autocommit connection, closed on leaving.

    Not ``with connection``: psycopg2's opens a transaction block even in autocommit mode (so
    CREATE DATABASE fails inside it) and does not close; psycopg 3's closes. Statements here run
    one by one, each its own transaction, under both drivers.
    """
    parts = urlsplit(url)
    kwargs = {
        "host": parts.hostname or "",
        "port": parts.port or 5432,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "dbname": dbname or unquote(parts.path.lstrip("/")) or "postgres",
        "connect_timeout": 5,
    }
    try:
        import psycopg

        connection = psycopg.connect(autocommit=True, **kwargs)
    except ImportError:
        import psycopg2

        connection = psycopg2.connect(**kwargs)
        connection.autocommit = True
    try:
        yield connection.cursor()
    finally:
        connection.close()


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value):
    """CREATE ROLE takes no bound parameters; standard_conforming_strings (on since 9.1) makes this exact."""
    return "'" + value.replace("'", "''") + "'"


def sqlite(config):
    import os
    import sqlite3

    if config["action"] == "sqlite_backup":
        source = config["src"] if config.get("restore") else "file:" + config["src"] + "?mode=ro"
        with sqlite3.connect(source, uri=not config.get("restore")) as src, sqlite3.connect(config["dst"]) as dst:
            src.backup(dst)
        if not config.get("restore"):
            os.chmod(config["dst"], 0o600)
        return {"ok": True}
    with sqlite3.connect("file:" + config["path"] + "?mode=ro", uri=True) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        names = [n for n in names if not n.startswith("sqlite_") and n not in set(config.get("skip", []))]
        return {"counts": {n: conn.execute('SELECT count(*) FROM "%s"' % n.replace('"', '""')).fetchone()[0] for n in names}}


def driver():
    """The PostgreSQL driver this interpreter uses: psycopg 3 when present (as Django prefers)."""
    try:
        import psycopg

        return "psycopg " + psycopg.__version__
    except ImportError:
        import psycopg2

        return "psycopg2 " + psycopg2.__version__.split()[0]


def count(config):
    """Row counts of the given tables; a table that does not exist (yet) counts as None."""
    counts = {}
    with connected(config["url"]) as cur:
        for table in config["tables"]:
            cur.execute("SELECT to_regclass(%s)", (quote_ident(table),))
            if cur.fetchone()[0] is None:
                counts[table] = None
                continue
            cur.execute(f"SELECT count(*) FROM {quote_ident(table)}")
            counts[table] = cur.fetchone()[0]
    return {"counts": counts, "driver": driver()}


def create(config):
    """Inspect (read-only) or create the URL's role and database, as the admin URL's user."""
    target = urlsplit(config["url"])
    role, dbname = unquote(target.username or ""), unquote(target.path.lstrip("/"))
    with connected(config["admin_url"], "postgres") as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        role_exists = cur.fetchone() is not None
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        db_exists = cur.fetchone() is not None
        created = []
        if config["action"] == "create":
            if not role_exists:
                password = unquote(target.password or "")
                cur.execute(f"CREATE ROLE {quote_ident(role)} LOGIN PASSWORD {quote_literal(password)}")
                created.append(f"role {role}")
            if not db_exists:
                cur.execute(f"CREATE DATABASE {quote_ident(dbname)} OWNER {quote_ident(role)}")
                created.append(f"database {dbname}")
    return {"role_exists": role_exists, "db_exists": db_exists, "created": created, "driver": driver()}


def run(config):
    if config["action"].startswith("sqlite_"):
        return sqlite(config)
    if config["action"] == "count":
        return count(config)
    return create(config)


def main():
    config = json.loads(sys.stdin.readline())
    try:
        result = run(config)
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        result = {"error": f"{type(exc).__name__}: {message}"}
    print("@@REMEDIATION-DBADMIN@@" + json.dumps(result))


if __name__ == "__main__":
    main()
