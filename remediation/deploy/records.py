"""What each release is: its record (commit, time, who, status) and the host's history.

A release's record lives inside it (``releases/<id>/.release.json``), written before the release
is renamed into place, so a release without one is not whole. ``current`` and ``previous`` are
read from the host (the ``current`` symlink, the newest good release before it), never remembered
by the controller. A release is ``pending`` until it has been live and healthy (then ``ok``); a failed or pending one
keeps its folder for inspection, is never a rollback target and never counts in ``--keep`` (Capistrano's users lost their last good release that way).
"""

from __future__ import annotations

import getpass
import json
import posixpath
import socket
import time
from dataclasses import asdict, dataclass, field

from ..transport import Transport
from .layout import RELEASE_ID, RELEASE_RECORD, Layout

OK, FAILED, PENDING = "ok", "failed", "pending"  # pending: placed, never passed a health check


@dataclass
class Release:
    id: str
    commit: str = ""
    ref: str = ""
    subject: str = ""
    time: str = ""
    deployer: str = ""
    status: str = PENDING  # pending -> ok (live and healthy) | failed
    reason: str = ""
    requirements: str = ""  # the venv hash
    migrations: list = field(default_factory=list)  # app.name of every migration applied when it was live
    backup: str = ""  # the pre-deploy backup of the database, when one was taken

    def to_dict(self) -> dict:
        return asdict(self)


def deployer() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def new_release(rid: str, commit, venv_hash: str) -> Release:
    return Release(id=rid, commit=commit.sha, ref=commit.ref or "", subject=commit.subject[:120],
                   time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), deployer=deployer(),
                   requirements=venv_hash)


def write(transport: Transport, path: str, release: Release) -> None:
    transport.write_atomic(path, json.dumps(release.to_dict(), indent=1) + "\n", mode=0o644)


def read(transport: Transport, layout: Layout, rid: str) -> Release | None:
    text = transport.read_text(layout.record(rid))
    if text is None:
        return None
    try:
        data = json.loads(text)
        return Release(**{k: v for k, v in data.items() if k in Release.__dataclass_fields__})
    except (ValueError, TypeError):
        return None


def mark(transport: Transport, layout: Layout, rid: str, **changes) -> None:
    release = read(transport, layout, rid)
    if release is not None:
        for key, value in changes.items():
            setattr(release, key, value)
        write(transport, layout.record(rid), release)


def release_ids(transport: Transport, layout: Layout) -> list[str]:
    """Whole releases on the host, oldest first (temp folders and strays are not releases)."""
    result = transport.run(["ls", "-1", layout.releases], timeout=60)
    if result.returncode != 0:
        return []
    return sorted(name for name in result.stdout.split() if RELEASE_ID.match(name))


def current_id(transport: Transport, layout: Layout) -> str | None:
    info = transport.lstat(layout.current)
    if info is None:
        return None
    target = transport.realpath(layout.current)
    name = posixpath.basename(target.rstrip("/"))
    return name if RELEASE_ID.match(name) else None


@dataclass
class History:
    releases: list[Release]  # oldest first
    current: str | None

    def get(self, rid: str) -> Release | None:
        return next((r for r in self.releases if r.id == rid), None)

    @property
    def previous(self) -> str | None:
        """The newest good release older than ``current``: where a rollback goes."""
        ids = [r.id for r in self.releases]
        if self.current not in ids:
            good = [r.id for r in self.releases if r.status == OK]
            return good[-1] if good else None
        older = [r for r in self.releases[:ids.index(self.current)] if r.status == OK]
        return older[-1].id if older else None

    def status_of(self, release: Release) -> str:
        if release.id == self.current:
            return "current"
        if release.status in (FAILED, PENDING):
            return release.status
        if release.id == self.previous:
            return "previous"
        return "old"

    def to_rows(self) -> list[dict]:
        return [{**r.to_dict(), "state": self.status_of(r)} for r in reversed(self.releases)]

    def to_remove(self, keep: int) -> list[str]:
        """Good releases beyond the newest ``keep`` (current and previous always stay); failed ones
        stay for inspection until ``keep`` newer good releases exist after them."""
        good = [r.id for r in self.releases if r.status == OK]
        kept = set(good[-keep:]) if keep > 0 else set()
        kept |= {self.current, self.previous} - {None}
        doomed = [rid for rid in good if rid not in kept]
        oldest_kept = min(kept) if kept else None
        doomed += [r.id for r in self.releases if r.status != OK and r.id != self.current
                   and oldest_kept and r.id < oldest_kept]
        return sorted(doomed)


def history(transport: Transport, layout: Layout) -> History:
    releases = []
    for rid in release_ids(transport, layout):
        release = read(transport, layout, rid)
        releases.append(release or Release(id=rid, status=FAILED, reason=f"no {RELEASE_RECORD}"))
    return History(releases, current_id(transport, layout))
