"""The migration lock: one deploy at a time migrates a PostgreSQL database, whatever hosts it runs on.

The run lock is per host (``DEPLOY_TO/.deploy/lock``), so ``deploy -l web1`` and ``deploy -l web2``
at once would each pick a migrating host and both back up, rehearse and migrate the one shared
database (and the second would drop the first's rehearsal copy as a leftover). A session-level
PostgreSQL advisory lock is shared by everything that talks to the database: held by a small
process on the migrating host (remediation/dblockholder.py, in the release's Python, which has the
driver), started through the transport, for as long as the database step lasts. It ends with the
session, so a killed deploy never leaves it behind. A second deploy fails at once, naming the holder.

SQLite needs none: its file lives on the one host, whose run lock already covers it.
"""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path

from .. import dblockholder
from ..changes import ChangeFailed
from ..transport import Transport, TransportError, pause_for_tests

SOURCE = Path(dblockholder.__file__).read_text(encoding="utf-8")


def holder_name(holder: dict) -> str:
    return f"remediation {holder.get('run', 'deploy')} pid {holder.get('pid')} on {holder.get('host') or socket.gethostname()}"


@contextlib.contextmanager
def migration_lock(transport: Transport, python: str, db, holder: dict):
    """Hold the database's migration lock for the context (PostgreSQL); ChangeFailed when another holds it."""
    if db.vendor != "postgresql":
        yield f"no migration lock for {db.vendor or 'this database'}: the host's run lock covers it"
        return
    request = json.dumps({"params": {**db.params, "dbname": db.name}, "holder": holder_name(holder)})
    try:
        with transport.hold([python, "-B", "-c", SOURCE], request) as line:
            if line.startswith(dblockholder.HELD):
                other = json.loads(line[len(dblockholder.HELD):])
                raise ChangeFailed(f"another deploy is migrating database {db.name} ({other.get('holder') or 'unknown'}, "
                                   f"since {(other.get('since') or '?')[:19]}): nothing was changed; try again when it has finished")
            if line.startswith(dblockholder.ERROR):
                raise ChangeFailed(f"cannot take the migration lock on database {db.name}: {json.loads(line[len(dblockholder.ERROR):])}")
            if line != dblockholder.LOCKED:
                raise ChangeFailed(f"cannot take the migration lock on database {db.name}: unexpected answer {line[:80]!r}")
            pause_for_tests("dblock", "held")
            yield f"holding the migration lock of database {db.name}"
    except TransportError as exc:
        raise ChangeFailed(f"cannot take the migration lock on database {db.name}: {exc}") from None
