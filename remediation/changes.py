"""Changes: what a fix wants done, described before it is done.

Like an Ansible module, a change computes its result in memory first: ``changed`` is honest,
``diff()`` shows before and after with secrets masked, and in check mode nothing else happens.
``apply()`` writes atomically through the transport, after backing up what it replaces into the
run's backup folder, and records that in the run's manifest so ``invoke rollback`` can undo it.
"""

from __future__ import annotations

import difflib
import json
import os
import time
from dataclasses import dataclass, field

from .envfile import mask_line
from .transport import Transport, TransportError

STATE_DIR = ".remediation"
KEEP_RUNS = 10


class ChangeFailed(Exception):
    """A change could not be applied; the message is one line, free of secrets."""


@dataclass
class RunRecord:
    """One fix-prod run's backups, kept under ``<project>/.remediation/runs/<id>/``."""

    transport: Transport
    root: str
    run_id: str = field(default_factory=lambda: time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}")
    files: list = field(default_factory=list)
    databases: list = field(default_factory=list)

    @property
    def folder(self) -> str:
        return os.path.join(self.root, STATE_DIR, "runs", self.run_id)

    def backup_file(self, path: str) -> dict:
        """Copy ``path`` into the run's folder (no backup when it did not exist) and record it."""
        self.transport.makedirs(self.folder)
        existed = self.transport.file_mode(path) is not None
        backup = None
        if existed:
            backup = os.path.join(self.folder, "files", os.path.relpath(path, self.root).replace(os.sep, "__"))
            self.transport.makedirs(os.path.dirname(backup))
            self.transport.copy(path, backup)
        entry = {"path": path, "backup": backup, "written": False}
        self.files.append(entry)
        self.save()
        return entry

    def written(self, entry: dict) -> None:
        entry["written"] = True
        self.save()

    def record_database(self, entry: dict) -> None:
        self.databases.append(entry)
        self.save()

    def save(self) -> None:
        self.transport.makedirs(self.folder)
        manifest = {"run_id": self.run_id, "root": self.root, "files": self.files, "databases": self.databases}
        self.transport.write_atomic(os.path.join(self.folder, "manifest.json"), json.dumps(manifest, indent=2), 0o600)


@dataclass
class FileChange:
    """Make ``path`` hold ``after`` (and ``mode``). ``env_file`` diffs are masked line by line."""

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
        before = [mask(line) + "\n" for line in (self.before or "").splitlines()]
        after = [mask(line) + "\n" for line in self.after.splitlines()]
        text = "".join(difflib.unified_diff(before, after, f"{self.path} (before)", f"{self.path} (after)"))
        if self.mode is not None and self.current_mode != self.mode:
            old = "absent" if self.current_mode is None else oct(self.current_mode)
            text += f"mode {old} -> {oct(self.mode)}\n"
        return text

    def apply(self, transport: Transport, record: RunRecord) -> str:
        if not self.changed:
            return "unchanged"
        folder = os.path.dirname(self.path)
        if transport.file_mode(folder) is None:
            raise ChangeFailed(f"{folder}: no such directory")
        try:
            entry = record.backup_file(self.path)
            transport.write_atomic(self.path, self.after, self.mode)
            record.written(entry)
        except OSError as exc:
            raise ChangeFailed(f"{self.path}: {exc.strerror or type(exc).__name__}") from None
        except TransportError as exc:  # the connection dropped: the file is the old one or the new one
            raise ChangeFailed(f"{self.path}: {exc}") from None
        return f"wrote {self.path}"


def prune_runs(transport: Transport, root: str, keep: int = KEEP_RUNS) -> None:
    """Keep the newest ``keep`` run folders (backups) of a project, on its host; older ones go."""
    runs = os.path.join(root, STATE_DIR, "runs")
    found = transport.run(["find", runs, "-mindepth", "1", "-maxdepth", "1", "-type", "d"], timeout=60)
    if found.returncode != 0:
        return
    old = sorted(line for line in found.stdout.splitlines() if line.strip())[:-keep]
    if old:
        transport.run(["rm", "-rf", "--", *old], timeout=300)
