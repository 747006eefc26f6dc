"""One run at a time per project: an exclusive ``flock`` on ``<project>/.remediation/lock``, held on
the project's host for as long as the run lasts.

The lock frees itself: it belongs to an open file, so it ends with the process holding it. Locally
that is this process (kill -9 frees it). On a remote host it is a small process started over the
run's SSH connection, holding the flock until its stdin closes; its stdin is the channel, so it
ends with the channel, the connection, or this process. The file only tells the next run who
holds it (pid, host, since) and is removed on release; one left by a killed run is not a lock
(its flock died with the run), so nobody ever has to delete a lock file (lockfile.py).

A second run fails at once (``LockHeld``), naming the holder; nobody waits on anybody. Written by
hand: ``fcntl.flock`` is the whole mechanism, and fabric has no "process tied to my connection".
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import socket
import time
from pathlib import Path

from . import lockfile
from .changes import STATE_DIR
from .runner import UsageError
from .transport import TransportError

LOCK_NAME = "lock"
LOCK_SOURCE = Path(lockfile.__file__).read_text(encoding="utf-8")


class LockHeld(UsageError):
    """Another run holds the project's lock: nothing was done."""


def holder_info(run: str) -> dict:
    return {"run": run, "pid": os.getpid(), "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def describe_holder(project: str, text: str) -> str:
    try:
        holder = json.loads(text)
        who = (f"{holder.get('run', 'a run')}, pid {holder['pid']} on {holder['host']} "
               f"since {holder['since']}")
    except (ValueError, KeyError, TypeError, AttributeError):
        who = "a run that has not said who it is yet"
    return f"{project}: another run holds the lock ({who}); try again when it has finished"


def project_lock(transport, root: str, run: str):
    """A context that holds ``root``'s lock on its host, or raises ``LockHeld`` at once."""
    path = posixpath.join(root, STATE_DIR, LOCK_NAME)
    return transport.hold_lock(path, holder_info(run))


@contextlib.contextmanager
def local_lock(path: str, holder: dict):
    """The lock on this machine: flock on a file this process keeps open (not inherited by children)."""
    project = os.path.dirname(os.path.dirname(path))
    try:
        fd, made = lockfile.acquire(path, holder)
    except OSError as exc:
        raise UsageError(f"{path}: cannot take the run lock ({exc.strerror or exc})") from None
    if fd is None:
        raise LockHeld(describe_holder(project, made))
    try:
        yield
    finally:
        lockfile.release(fd, path, made)


@contextlib.contextmanager
def remote_lock(commands, path: str, holder: dict, timeout: float = 60):
    """The lock on a remote host: a process on a channel of the run's connection holds it."""
    project = posixpath.dirname(posixpath.dirname(path))
    channel = commands.start(["python3", "-c", LOCK_SOURCE, path, json.dumps(holder)])
    try:
        channel.settimeout(timeout)
        try:
            line = channel.makefile("rb").readline().decode("utf-8", "replace").strip()
        except (OSError, EOFError) as exc:
            raise TransportError(f"{commands.label}: no answer from the lock process ({exc})") from None
        if line.startswith(lockfile.HELD):
            raise LockHeld(describe_holder(project, line[len(lockfile.HELD):]))
        if line.startswith(lockfile.ERROR):
            raise UsageError(f"{path}: cannot take the run lock ({json.loads(line[len(lockfile.ERROR):])})")
        if line != lockfile.LOCKED:
            error = channel.makefile_stderr("rb").read().decode("utf-8", "replace").strip().splitlines()
            raise TransportError(f"{commands.label}: the lock process did not start ({(error or ['python3?'])[-1][:200]})")
        channel.settimeout(None)
        yield
    finally:
        try:  # its stdin closes: it removes the file and exits; wait, so the next run finds the lock free
            channel.shutdown_write()
            channel.status_event.wait(timeout)
        except Exception:  # paramiko's or the socket's: the connection is gone, so is the holder and its lock
            pass
        channel.close()
