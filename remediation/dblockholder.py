"""The migration lock's holder, standalone: run on the database's host side by the release's Python
(``python -c SOURCE``), which has the project's PostgreSQL driver (psycopg 3 or psycopg2).

It reads one JSON line on stdin (connection parameters, the password among them: never on a
command line), takes a session-level PostgreSQL advisory lock, prints one status line, and holds
the lock until its stdin closes; the lock ends with the session, so with this process, the SSH
channel or the deploy that started it.
"""

import json
import sys

LOCKED, HELD, ERROR = "@@REMEDIATION-DBLOCK-LOCKED@@", "@@REMEDIATION-DBLOCK-HELD@@", "@@REMEDIATION-DBLOCK-ERROR@@"
# One key for "migrating this database": advisory locks are per database, so two databases never collide.
KEY = 0x52454D44  # "REMD"


def connect(params):
    try:
        import psycopg

        return psycopg.connect(autocommit=True, **params)
    except ImportError:
        import psycopg2

        conn = psycopg2.connect(**params)
        conn.autocommit = True
        return conn


def main():
    request = json.loads(sys.stdin.readline())
    params = {k: v for k, v in request["params"].items() if v}
    params["application_name"] = request["holder"][:63]
    try:
        conn = connect(params)
        cur = conn.cursor()
        cur.execute("SELECT pg_try_advisory_lock(%s)", (KEY,))
        if not cur.fetchone()[0]:
            cur.execute("SELECT a.application_name, a.backend_start::text FROM pg_locks l JOIN pg_stat_activity a "
                        "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted", (KEY,))
            row = cur.fetchone() or ("", "")
            print(HELD + json.dumps({"holder": row[0], "since": row[1]}), flush=True)
            return
    except Exception as exc:  # the driver's own errors: one line for the deploy to show
        print(ERROR + json.dumps(f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]), flush=True)
        return
    print(LOCKED, flush=True)
    sys.stdin.read()  # until the deploy closes our stdin (or dies)
    conn.close()


if __name__ == "__main__":
    main()
