"""Undo a fix-prod run from its manifest: files back from their backups (files the run created
are removed), and with ``--database`` the databases from the backups taken before migrate.

The manifest lives inside the project, so whoever can write there could point a root
``rollback`` at any file of the host. Rollback therefore trusts a manifest only when it and its
folders are real folders (no symlink), owned by the user running rollback and not writable by
others; and it writes only where the run wrote: inside the project or the run's env file, never
through a symlink, only when the file still holds the bytes the run wrote (sha256), from a
backup that still holds the bytes it replaced. Everything is checked, on the project's host
through the transport, before the first write; a refusal is one line and writes nothing.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass

from .changes import STATE_DIR, WRITING, UnsafeState, check_private, check_state_folders, sha256
from .runner import UsageError
from .transport import Transport


class NothingToRollBack(Exception):
    pass


class RollbackFailed(Exception):
    """A database could not be restored (one line, what was done before it included)."""


class RollbackRefused(UsageError):
    """Rollback would write where the run did not, or over something changed since: one line,
    exit status 2, nothing written."""


@dataclass
class Step:
    entry: dict
    action: str  # restore, remove or keep (already as before)
    data: bytes | None = None


def inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def plan_file(transport: Transport, entry: dict, allowed, run_folder: str | None) -> Step:
    """What restoring one manifest entry means, or RollbackRefused saying why it must not."""
    path, backup = entry["path"], entry.get("backup")
    info = transport.lstat(path)
    if info is not None and info.kind == "link":
        raise RollbackRefused(f"{path}: is now a symlink; rollback does not write through it")
    if info is not None and info.kind != "file":
        raise RollbackRefused(f"{path}: not a regular file; left alone")
    if not allowed(transport.realpath(path)):
        raise RollbackRefused(f"{path}: outside the project and not the run's env file; refused")
    data = None
    if backup is not None:
        if run_folder is not None:  # from a manifest on disk: the backup must be the run's own
            if not inside(transport.realpath(backup), transport.realpath(run_folder)):
                raise RollbackRefused(f"{backup}: a backup outside the run's folder; refused")
            try:
                check_private(transport, backup, kind="file")
            except UnsafeState as exc:
                raise RollbackRefused(str(exc)) from None
        data = transport.read_bytes(backup)
        if data is None or ("before" in entry and sha256(data) != entry["before"]):
            raise RollbackRefused(f"{backup}: missing or not the bytes it backed up; {path} left alone")
    if "after" not in entry:  # a manifest from before hashes were recorded
        if not entry.get("written", True):
            return Step(entry, "keep")
        return Step(entry, "restore" if backup else "remove", data)
    current = sha256(transport.read_bytes(path))
    if current == entry["before"]:
        return Step(entry, "keep")
    if current != entry["after"]:
        kept = f" (its backup: {backup})" if backup else ""
        raise RollbackRefused(f"{path}: changed since the run wrote it; left as it is{kept}")
    return Step(entry, "restore" if backup else "remove", data)


def temp_debris(transport: Transport, entry: dict) -> list[str]:
    """Temp files a write killed before its rename left beside ``path`` (``.NAME.*.tmp``, as both
    transports name them): only regular files of ours holding exactly the bytes the run meant to
    write (they may hold a new secret)."""
    folder, name = os.path.split(entry["path"])
    pattern = "." + "".join("\\" + c if c in "*?[]\\" else c for c in name) + ".*.tmp"
    found = transport.run(["find", folder, "-mindepth", "1", "-maxdepth", "1", "-type", "f", "-name", pattern],
                          timeout=60)
    debris = []
    for path in (line for line in found.stdout.splitlines() if line.strip()):
        info = transport.lstat(path)
        if info and info.kind == "file" and info.uid == transport.uid() and \
                sha256(transport.read_bytes(path)) == entry["after"]:
            debris.append(path)
    return debris


def apply_steps(transport: Transport, steps: list[Step]) -> list[str]:
    done = []
    for step in steps:
        entry = step.entry
        if entry.get("state") == WRITING:
            for path in temp_debris(transport, entry):
                transport.remove(path)
                done.append(f"removed {path} (a temp file of an interrupted write)")
        if step.action == "remove":
            transport.remove(entry["path"])
            done.append(f"removed {entry['path']} (created by the run)")
        elif step.action == "restore":
            mode = entry.get("mode")
            transport.write_atomic(entry["path"], step.data, mode if mode is not None else transport.file_mode(entry["backup"]))
            done.append(f"restored {entry['path']}")
    return done


def restore_files(transport: Transport, files: list[dict]) -> list[str]:
    """fix-prod's own undo after a failed write (entries of this very run, newest first): each
    file the run wrote goes back byte-identical; a file that is not the run's any more is left."""
    done = []
    for entry in reversed(files):
        try:
            done += apply_steps(transport, [plan_file(transport, entry, lambda path: True, None)])
        except RollbackRefused as exc:
            done.append(str(exc))
    return done


def latest_manifest(transport: Transport, root: str) -> tuple[str, dict]:
    """The newest run of ``root`` not rolled back yet, read on the project's host; its folders
    must be real, private and ours."""
    runs = os.path.join(root, STATE_DIR, "runs")
    try:
        if not check_state_folders(transport, root):
            raise NothingToRollBack(f"{root}: no fix-prod run to roll back")
        found = transport.run(["find", runs, "-mindepth", "2", "-maxdepth", "2", "-name", "manifest.json"], timeout=60)
        for path in sorted((line for line in found.stdout.splitlines() if line.strip()), reverse=True):
            check_private(transport, os.path.dirname(path))
            check_private(transport, path, kind="file")
            try:
                manifest = json.loads(transport.read_text(path) or "{}")
            except ValueError:
                raise RollbackRefused(f"{path}: not a manifest (malformed JSON)") from None
            if manifest and not manifest.get("rolled_back"):
                return path, manifest
    except UnsafeState as exc:
        raise RollbackRefused(str(exc)) from None
    raise NothingToRollBack(f"{root}: no fix-prod run to roll back")


def plan_rollback(transport: Transport, root: str, manifest_path: str, manifest: dict) -> list[Step]:
    """Every file step, checked before anything is written (newest first)."""
    real_root = transport.realpath(root)
    env_file = manifest.get("env_file")
    real_env = transport.realpath(env_file) if env_file else None

    def allowed(real: str) -> bool:
        return inside(real, real_root) or real == real_env

    try:
        files = list(manifest.get("files", []))
        return [plan_file(transport, entry, allowed, os.path.dirname(manifest_path)) for entry in reversed(files)]
    except (KeyError, TypeError, AttributeError):
        raise RollbackRefused(f"{manifest_path}: not a manifest (entries without a path)") from None


def rollback(transport: Transport, root: str, database: bool = False, python: str | None = None) -> list[str]:
    """Under the project's lock (lock.py), as fix-prod runs: never both at once."""
    from .lock import project_lock

    if transport.file_mode(os.path.join(root, STATE_DIR)) is None:  # no run ever: take no lock, write nothing
        raise NothingToRollBack(f"{root}: no fix-prod run to roll back")
    with project_lock(transport, root, "rollback"):
        return _rollback(transport, root, database, python)


def _rollback(transport: Transport, root: str, database: bool, python: str | None) -> list[str]:
    manifest_path, manifest = latest_manifest(transport, root)
    steps = plan_rollback(transport, root, manifest_path, manifest)
    credentials = run_env(transport, manifest) if database else {}
    done = apply_steps(transport, steps)
    if database:
        done += restore_databases(transport, manifest["databases"], python or transport.default_python(), credentials)
    manifest["rolled_back"] = True
    transport.write_atomic(manifest_path, json.dumps(manifest, indent=2), 0o600)
    unchanged = sum(step.action == "keep" for step in steps)
    if unchanged:
        done.append(f"{unchanged} file(s) already as before the run")
    return [f"rolled back run {manifest['run_id']}"] + done


def run_env(transport: Transport, manifest: dict) -> dict:
    """The env files the run wrote, as written (read before they are restored): the database password."""
    from dotenv import dotenv_values

    values: dict = {}
    for entry in manifest["files"]:
        if entry.get("written", True) and os.path.basename(entry["path"]).startswith(".env"):
            values.update({k: v for k, v in dotenv_values(stream=io.StringIO(transport.read_text(entry["path"]) or "")).items() if v})
    return values


def restore_databases(transport: Transport, entries: list[dict], python: str, env: dict) -> list[str]:
    """Newest first; each database made equal to its backup and checked against it (dbrestore.restore)."""
    from .changes import ChangeFailed
    from .dbrestore import Database, restore

    done = []
    for entry in reversed(entries):
        db = Database.from_entry(entry, python, env)
        try:
            verified = restore(transport, db, entry["backup"])
        except ChangeFailed as exc:
            raise RollbackFailed("; ".join(done + [str(exc)])) from None
        done.append(f"restored database {os.path.basename(entry['name'])} from {os.path.basename(entry['backup'])} ({verified})")
    return done
