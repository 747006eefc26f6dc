"""Changes: what a fix wants done, described before it is done.

Like an Ansible module, a change computes its result in memory first: ``changed`` is honest,
``diff()`` shows before and after with secrets masked, and in check mode nothing else happens.
``apply()`` backs up what it replaces into the run's folder and records the intent in the run's
manifest (paths, the backup, sha256 of the bytes before and after) *before* the rename, so a
run stopped anywhere in a write (Ctrl-C, kill -9) is undone by ``invoke rollback``: rollback
compares the file with those hashes and knows whether the write landed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import time
from dataclasses import dataclass, field

from .envfile import mask_line
from .transport import Transport, TransportError, encode

STATE_DIR = ".remediation"
KEEP_RUNS = 10
WRITING, WRITTEN = "writing", "written"


class ChangeFailed(Exception):
    """A change could not be applied; the message is one line, free of secrets."""


class UnsafeState(ChangeFailed):
    """The run folders are not safely ours (a symlink, another owner, writable by others)."""


def sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def check_private(transport: Transport, path: str, kind: str = "dir", private: int = 0o022) -> None:
    """``path`` must be a real ``kind`` (not a symlink), owned by the user we act as, and have
    none of the ``private`` mode bits (writable by group or others, by default)."""
    info = transport.lstat(path)
    if info is None:
        raise UnsafeState(f"{path}: does not exist")
    if info.kind == "link":
        raise UnsafeState(f"{path}: is a symlink; refused (run folders must be real folders of the project)")
    if info.kind != kind:
        raise UnsafeState(f"{path}: not a {'folder' if kind == 'dir' else 'regular file'}")
    me = transport.uid()
    if info.uid != me:
        raise UnsafeState(f"{path}: owned by uid {info.uid}, not by the user running this (uid {me}); refused")
    if info.mode & private:
        raise UnsafeState(f"{path}: mode {oct(info.mode)} lets others write; refused (chmod go-w)")


def check_state_folders(transport: Transport, root: str) -> bool:
    """``.remediation`` and ``.remediation/runs`` are ours and private; False when they do not exist."""
    state = os.path.join(root, STATE_DIR)
    for path in (state, os.path.join(state, "runs")):
        if transport.lstat(path) is None:
            return False
        check_private(transport, path)
    return True


@dataclass
class RunRecord:
    """One fix-prod run's backups, kept under ``<project>/.remediation/runs/<id>/``."""

    transport: Transport
    root: str
    run_id: str = field(default_factory=lambda: time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}")
    files: list = field(default_factory=list)
    databases: list = field(default_factory=list)
    env_file: str | None = None
    _ready: bool = field(default=False, repr=False)

    @property
    def folder(self) -> str:
        """The run's folder, created (0700) and checked on first use: a symlinked or foreign
        ``.remediation/runs`` is refused before anything is written into it."""
        folder = os.path.join(self.root, STATE_DIR, "runs", self.run_id)
        if not self._ready:
            state = os.path.join(self.root, STATE_DIR)
            for path in (state, os.path.join(state, "runs")):
                if self.transport.lstat(path) is None:
                    self.transport.makedirs(path, 0o700)
                check_private(self.transport, path)
            if self.transport.lstat(folder) is not None:
                raise UnsafeState(f"{folder}: already exists; refused")
            self.transport.makedirs(folder, 0o700)
            check_private(self.transport, folder, private=0o077)
            self._ready = True
        return folder

    def intend(self, path: str, before: bytes | None, mode: int | None, after: bytes, env_file: bool) -> dict:
        """Back up ``before`` and record, before the write starts, that ``path`` is being written."""
        backup = None
        if before is not None:
            backup = os.path.join(self.folder, "files", f"{len(self.files):02d}-{os.path.basename(path)}")
            self.transport.makedirs(os.path.dirname(backup), 0o700)
            self.transport.write_atomic(backup, before, mode if mode is not None else 0o600)
        if env_file:
            self.env_file = path
        entry = {"path": path, "backup": backup, "mode": mode, "before": sha256(before), "after": sha256(after),
                 "state": WRITING}
        self.files.append(entry)
        self.save()
        return entry

    def written(self, entry: dict) -> None:
        entry["state"] = WRITTEN
        self.save()

    def record_database(self, entry: dict) -> None:
        self.databases.append(entry)
        self.save()

    def save(self) -> None:
        manifest = {"run_id": self.run_id, "root": self.root, "env_file": self.env_file, "files": self.files,
                    "databases": self.databases}
        self.transport.write_atomic(os.path.join(self.folder, "manifest.json"), json.dumps(manifest, indent=2), 0o600)


def shown(line: str) -> str:
    """A line fit for a terminal: bytes that are not UTF-8 shown as ``\\xNN``, never U+FFFD."""
    return encode(line).decode("utf-8", "backslashreplace")


@dataclass
class FileChange:
    """Make ``path`` hold ``after`` (and ``mode``). ``env_file`` diffs are masked line by line.

    ``before`` and ``after`` are texts as the transport reads them: bytes-faithful (CRLF kept,
    bytes that are not UTF-8 carried as surrogates), so writing ``after`` changes only what the
    fix meant to change."""

    fix: str
    path: str
    before: str | None
    after: str
    mode: int | None = None
    current_mode: int | None = None
    env_file: bool = False
    description: str = ""

    @property
    def changed(self) -> bool:
        return self.before != self.after or (self.mode is not None and self.current_mode != self.mode)

    def diff(self) -> str:
        mask = mask_line if self.env_file else (lambda line: line)
        before = [shown(mask(line)) + "\n" for line in (self.before or "").splitlines()]
        after = [shown(mask(line)) + "\n" for line in self.after.splitlines()]
        text = "".join(difflib.unified_diff(before, after, f"{self.path} (before)", f"{self.path} (after)"))
        if self.mode is not None and self.current_mode != self.mode:
            old = "absent" if self.current_mode is None else oct(self.current_mode)
            text += f"mode {old} -> {oct(self.mode)}\n"
        return text

    def apply(self, transport: Transport, record: RunRecord) -> str:
        """Back up, record the intent, write atomically, record it written. Ctrl-C anywhere in
        here is a failed change (fix-prod then restores what the run wrote)."""
        if not self.changed:
            return "unchanged"
        try:
            target = write_target(transport, self.path)
            before = transport.read_bytes(target)
            if before != (None if self.before is None else encode(self.before)):
                raise ChangeFailed(f"{self.path}: changed while fix-prod ran; not written (run fix-prod again)")
            after = encode(self.after)
            entry = record.intend(target, before, transport.file_mode(target), after, self.env_file)
            transport.write_atomic(target, after, self.mode)
            record.written(entry)
        except OSError as exc:
            raise ChangeFailed(f"{self.path}: {exc.strerror or type(exc).__name__}") from None
        except TransportError as exc:  # the connection dropped: the file is the old one or the new one
            raise ChangeFailed(f"{self.path}: {exc}") from None
        except KeyboardInterrupt:
            raise ChangeFailed(f"{self.path}: interrupted") from None
        return f"wrote {self.path}"


def write_target(transport: Transport, path: str) -> str:
    """Where a write of ``path`` lands: the file, or a symlink's target (written through, the link
    kept). A folder that does not exist, a symlink to nothing, a device or a FIFO is refused."""
    folder = os.path.dirname(path)
    if transport.file_mode(folder) is None:
        raise ChangeFailed(f"{folder}: no such directory")
    info = transport.lstat(path)
    if info is not None and info.kind == "link":
        target = transport.realpath(path)
        info = transport.lstat(target)
        if info is None:
            raise ChangeFailed(f"{path}: a symlink to {target}, which does not exist; not written")
        path = target
    if info is not None and info.kind != "file":
        raise ChangeFailed(f"{path}: not a regular file; not written")
    return path


def prune_runs(transport: Transport, root: str, keep: int = KEEP_RUNS) -> None:
    """Keep the newest ``keep`` run folders (backups) of a project, on its host; older ones go.
    Folders that are not safely ours (a symlink, another owner, writable by others) are left."""
    try:
        if not check_state_folders(transport, root):
            return
    except UnsafeState:
        return
    runs = os.path.join(root, STATE_DIR, "runs")
    found = transport.run(["find", runs, "-mindepth", "1", "-maxdepth", "1", "-type", "d"], timeout=60)
    if found.returncode != 0:
        return
    old = sorted(line for line in found.stdout.splitlines() if line.strip())[:-keep]
    if old:
        transport.run(["rm", "-rf", "--", *old], timeout=300)
