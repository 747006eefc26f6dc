"""Transports: the only code that touches a host.

``Local`` works on this machine; ``Ssh`` (remediation/ssh/, fabric) on a remote one. Both offer
the same small interface, so facts, checks and fixes are written once for both:

- ``run(argv, input=, timeout=, env=, cwd=)`` -> ``Result``; a missing program raises
  ``TransportError``, a non-zero exit does not (callers read ``returncode``);
- ``run_probe(python, config)`` -> the probe's JSON document;
- ``read_text(path)`` (None when absent), ``file_mode(path)``, ``write_atomic(path, text, mode)``,
  ``copy(src, dst)``, ``remove(path)``, ``makedirs(path)``;
- ``read_bytes(path)``, ``lstat(path)`` -> ``FileInfo`` (symlinks not followed), ``realpath(path)``,
  ``uid()`` (the user the file operations run as): what rollback checks before it writes.

Text is bytes-faithful both ways: read as UTF-8 with ``surrogateescape`` and no newline
translation, written back the same way, so a CRLF file stays CRLF and a byte that is not UTF-8
comes back as the same byte. ``write_atomic`` onto a symlink writes through to its target (the
link stays a link); a symlink to nothing is refused.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import hostfacts
from . import probe as probe_module

# Fixed, secret-free bootstrap: the config (which may carry env values) and the probe's source
# both travel over stdin, so nothing sensitive shows in a process list or is left on disk.
PROBE_BOOTSTRAP = (
    "import sys, json; config = json.loads(sys.stdin.readline()); source = sys.stdin.read(); "
    "exec(compile(source, 'remediation-probe.py', 'exec'), "
    "{'__name__': '__main__', 'PROBE_CONFIG': config})"
)
HOSTFACTS_SOURCE = Path(hostfacts.__file__).read_text(encoding="utf-8")
# For the smaller scripts (hostfacts, dbadmin): the first stdin line is their JSON config, put
# back on stdin for them; the rest is their source.
SCRIPT_BOOTSTRAP = (
    "import sys, io; config = sys.stdin.readline(); source = sys.stdin.read(); sys.stdin = io.StringIO(config); "
    "exec(compile(source, 'remediation-script.py', 'exec'), {'__name__': '__main__'})"
)


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (and SIGTERM) until the block is done: a write is whole or not there, and no
    temp file is left between mkstemp and the rename. Only the main thread receives signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def encode(text: str | bytes) -> bytes:
    """The bytes of a text read by ``read_text`` (surrogateescape gives back the original bytes)."""
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class FileInfo(NamedTuple):
    """What ``lstat`` says: ``kind`` is file, dir, link or other; ``mode`` the permission bits."""

    kind: str
    uid: int
    mode: int

    @classmethod
    def of(cls, st_mode: int, st_uid: int) -> "FileInfo":
        kind = ("link" if stat.S_ISLNK(st_mode) else "file" if stat.S_ISREG(st_mode)
                else "dir" if stat.S_ISDIR(st_mode) else "other")
        return cls(kind, st_uid, stat.S_IMODE(st_mode))


def pause_for_tests(point: str, path) -> None:
    """Test-only hook: with ``REMEDIATION_TEST_PAUSE=POINT:NAME:FOLDER`` a write of a file named
    NAME stops at POINT (once), says so in FOLDER/reached and waits until the FIFO FOLDER/release is
    opened for writing, so a test can deliver a signal or a kill inside that exact window."""
    spec = os.environ.get("REMEDIATION_TEST_PAUSE")
    if not spec:
        return
    wanted, name, folder = spec.split(":", 2)
    if wanted != point or os.path.basename(path) != name:
        return
    del os.environ["REMEDIATION_TEST_PAUSE"]  # once
    Path(folder, "reached").write_text(f"{point} {path}\n")
    with open(os.path.join(folder, "release"), "rb") as fifo:
        fifo.read()


class TransportError(Exception):
    """A host could not do what was asked (missing program, timeout, lost connection)."""


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class Transport:
    name = "?"

    def open(self) -> None:
        """Connect now (remote transports), so that a host that cannot be reached is told apart
        from one that fails later; local transports have nothing to open."""

    def run(self, argv: list[str], *, input: str | None = None, timeout: float | None = None,
            env: dict | None = None, cwd: str | None = None) -> Result:
        raise NotImplementedError

    def run_probe(self, python: str, config: dict, timeout: float = 300) -> dict:
        """Stream the probe to ``python`` (-B: no bytecode written) and return its JSON document."""
        payload = json.dumps(config) + "\n" + probe_module.source()
        result = self.run([python, "-B", "-c", PROBE_BOOTSTRAP], input=payload, timeout=timeout)
        return parse_probe_output(result, python)

    def run_script(self, python: str, source: str, config: dict, marker: str, timeout: float = 120) -> dict:
        """Run a standalone stdlib script (hostfacts, dbadmin) in ``python``; config travels on stdin."""
        result = self.run([python, "-B", "-c", SCRIPT_BOOTSTRAP], input=json.dumps(config) + "\n" + source, timeout=timeout)
        found = result.stdout.rfind(marker)
        if found < 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise TransportError(f"{python}: the script did not run ({last[:200]})")
        return json.loads(result.stdout[found + len(marker):])

    def collect_host(self, python: str, config: dict) -> dict:
        """The files around the project, in one round trip (remediation/hostfacts.py)."""
        return self.run_script(python, HOSTFACTS_SOURCE, config, "@@REMEDIATION-HOSTFACTS@@")


class Local(Transport):
    name = "localhost"

    def run(self, argv, *, input=None, timeout=None, env=None, cwd=None) -> Result:
        if cwd is not None and not os.path.isdir(cwd):
            raise TransportError(f"{cwd}: no such directory")
        try:
            done = subprocess.run(
                argv, input=input, capture_output=True, text=True, timeout=timeout,
                env=None if env is None else {**os.environ, **env}, cwd=cwd,
            )
        except FileNotFoundError:
            raise TransportError(f"{argv[0]}: no such program") from None
        except PermissionError:
            raise TransportError(f"{argv[0]}: not executable") from None
        except subprocess.TimeoutExpired:
            raise TransportError(f"{argv[0]}: no answer within {timeout:g}s") from None
        return Result(done.returncode, done.stdout, done.stderr)

    def collect_host(self, python: str, config: dict) -> dict:
        return hostfacts.collect(config)  # in-process: no interpreter to start

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        return None if data is None else decode(data)

    def read_bytes(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None

    def file_mode(self, path: str) -> int | None:
        try:
            return stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            return None

    def lstat(self, path: str) -> FileInfo | None:
        try:
            found = os.lstat(path)
        except FileNotFoundError:
            return None
        return FileInfo.of(found.st_mode, found.st_uid)

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def uid(self) -> int:
        return os.geteuid()

    def write_atomic(self, path: str, text: str | bytes, mode: int | None = None) -> None:
        """Ansible's atomic_move: temp file in the same folder, fsync, mode, rename; no debris on failure."""
        target = Path(path)
        if target.is_symlink():  # write through: the link stays, its target gets the content
            if not target.exists():
                raise OSError(errno.ENOENT, "a symlink to a file that does not exist", path)
            target = Path(os.path.realpath(path))
        with interrupts_deferred():
            self._write_atomic(target, encode(text), mode)

    @staticmethod
    def _write_atomic(target: Path, data: bytes, mode: int | None) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                if target.exists():  # keep owner and group: root rewriting the app's .env must not lock the app out
                    current = target.stat()
                    try:
                        os.fchown(handle.fileno(), current.st_uid, current.st_gid)
                    except PermissionError:
                        pass
                if mode is not None:
                    os.fchmod(handle.fileno(), mode)
                elif target.exists():
                    os.fchmod(handle.fileno(), stat.S_IMODE(target.stat().st_mode))
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            pause_for_tests("before-rename", target)
            os.replace(tmp, target)
            pause_for_tests("renamed", target)
            directory = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def copy(self, src: str, dst: str) -> None:
        shutil.copy2(src, dst)

    def remove(self, path: str) -> None:
        Path(path).unlink(missing_ok=True)

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        Path(path).mkdir(parents=True, exist_ok=True, mode=mode)


def parse_probe_output(result: Result, python: str) -> dict:
    marker = result.stdout.rfind(probe_module.MARKER)
    if marker < 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise TransportError(f"{python}: the probe did not run ({last[:200]})")
    return json.loads(result.stdout[marker + len(probe_module.MARKER):])
