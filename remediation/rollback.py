"""Undo a fix-prod run from its manifest: files back from their backups (files the run created
are removed), and with ``--database`` the databases from the backups taken before migrate."""

from __future__ import annotations

import json
import os
from .changes import STATE_DIR
from .transport import Transport


class NothingToRollBack(Exception):
    pass


def restore_files(transport: Transport, files: list[dict]) -> list[str]:
    """Newest first, only files the run wrote; each byte-identical to its backup, with its mode."""
    done = []
    for entry in reversed([f for f in files if f.get("written", True)]):
        if entry["backup"] is None:
            transport.remove(entry["path"])
            done.append(f"removed {entry['path']} (created by the run)")
        else:
            text = transport.read_text(entry["backup"])
            transport.write_atomic(entry["path"], text, transport.file_mode(entry["backup"]))
            done.append(f"restored {entry['path']}")
    return done


def latest_manifest(transport: Transport, root: str) -> tuple[str, dict]:
    """The newest run of ``root`` not rolled back yet, read on the project's host."""
    runs = os.path.join(root, STATE_DIR, "runs")
    found = transport.run(["find", runs, "-mindepth", "2", "-maxdepth", "2", "-name", "manifest.json"], timeout=60)
    for path in sorted((line for line in found.stdout.splitlines() if line.strip()), reverse=True):
        manifest = json.loads(transport.read_text(path) or "{}")
        if manifest and not manifest.get("rolled_back"):
            return path, manifest
    raise NothingToRollBack(f"{root}: no fix-prod run to roll back")


def rollback(transport: Transport, root: str, database: bool = False, python: str | None = None) -> list[str]:
    """Under the project's lock (lock.py), as fix-prod runs: never both at once."""
    from .lock import project_lock

    if transport.file_mode(os.path.join(root, STATE_DIR)) is None:  # no run ever: take no lock, write nothing
        raise NothingToRollBack(f"{root}: no fix-prod run to roll back")
    with project_lock(transport, root, "rollback"):
        return _rollback(transport, root, database, python)


def _rollback(transport: Transport, root: str, database: bool, python: str | None) -> list[str]:
    from .fixes.migrate import restore

    manifest_path, manifest = latest_manifest(transport, root)
    done = restore_files(transport, manifest["files"])
    if database:
        for entry in reversed(manifest["databases"]):
            restore(transport, entry, {}, python or transport.default_python())
            done.append(f"restored database {os.path.basename(entry['name'])} from {os.path.basename(entry['backup'])}")
    manifest["rolled_back"] = True
    transport.write_atomic(manifest_path, json.dumps(manifest, indent=2), 0o600)
    return [f"rolled back run {manifest['run_id']}"] + done
