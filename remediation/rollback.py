"""Undo a fix-prod run from its manifest: files back from their backups (files the run created
are removed), and with ``--database`` the databases from the backups taken before migrate."""

from __future__ import annotations

import io
import json
import os
import sys
from .changes import STATE_DIR
from .transport import Transport


class NothingToRollBack(Exception):
    pass


class RollbackFailed(Exception):
    """A database could not be restored (one line, what was done before it included)."""


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
    manifest_path, manifest = latest_manifest(transport, root)
    credentials = run_env(transport, manifest) if database else {}
    done = restore_files(transport, manifest["files"])
    if database:
        done += restore_databases(transport, manifest["databases"], python or sys.executable, credentials)
    manifest["rolled_back"] = True
    transport.write_atomic(manifest_path, json.dumps(manifest, indent=2), 0o600)
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
