"""Transports: the only code that touches a host.

``Local`` works on this machine; ``Ssh`` (remediation/ssh/, fabric) on a remote one. Both offer
the same small interface, so facts, checks and fixes are written once for both:

- ``run(argv, input=, timeout=, env=, cwd=)`` -> ``Result``; a missing program raises
  ``TransportError``, a non-zero exit does not (callers read ``returncode``);
- ``run_probe(python, config)`` -> the probe's JSON document;
- ``read_text(path)`` (None when absent), ``file_mode(path)``, ``write_atomic(path, text, mode)``,
  ``copy(src, dst)``, ``remove(path)``, ``makedirs(path)``.
"""

from __future__ import annotations

import contextlib
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

from . import hostfacts
from . import probe as probe_module

# Fixed, secret-free bootstrap: the config (which may carry env values) and the probe's source
# both travel over stdin, so nothing sensitive shows in a process list or is left on disk.
# The probe supervises itself on the host (remediation/probe/supervise.py): it needs its own source
# to start its worker, and kills the worker's process tree at ``probe_timeout``.
PROBE_BOOTSTRAP = (
    "import sys, json; config = json.loads(sys.stdin.readline()); source = sys.stdin.read(); "
    "exec(compile(source, 'remediation-probe.py', 'exec'), "
    "{'__name__': '__main__', 'PROBE_CONFIG': config, 'PROBE_SOURCE': source})"
)
PROBE_TIMEOUT_ENV = "REMEDIATION_PROBE_TIMEOUT"
# Our side waits this much longer than the probe's own deadline: the host's supervisor reports a
# timeout itself; this only catches a host that stops answering altogether.
PROBE_BACKSTOP = 5.0
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


class TransportError(Exception):
    """A host could not do what was asked (missing program, timeout, lost connection)."""


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def probe_timeout_default() -> float:
    """``REMEDIATION_PROBE_TIMEOUT`` (set by ``--probe-timeout``), else the documented default."""
    from .probe.supervise import DEFAULT_PROBE_TIMEOUT

    raw = os.environ.get(PROBE_TIMEOUT_ENV)
    try:
        value = float(raw) if raw else DEFAULT_PROBE_TIMEOUT
    except ValueError:
        value = DEFAULT_PROBE_TIMEOUT
    return value if value > 0 else DEFAULT_PROBE_TIMEOUT


class Transport:
    name = "?"
    probe_timeout: float | None = None  # per host (inventory var ``probe_timeout``); else the default

    def open(self) -> None:
        """Connect now (remote transports), so that a host that cannot be reached is told apart
        from one that fails later; local transports have nothing to open."""

    def run(self, argv: list[str], *, input: str | None = None, timeout: float | None = None,
            env: dict | None = None, cwd: str | None = None) -> Result:
        raise NotImplementedError

    def run_probe(self, python: str, config: dict, timeout: float | None = None) -> dict:
        """Stream the probe to ``python`` (-B: no bytecode written) and return its JSON document.

        The probe ends itself at ``timeout`` (default: the transport's ``probe_timeout``) and
        reports it as its error; a host that does not even answer that is a timeout too."""
        limit = float(timeout or self.probe_timeout or probe_timeout_default())
        payload = json.dumps({**config, "probe_timeout": limit}) + "\n" + probe_module.source()
        try:
            result = self.run([python, "-B", "-c", PROBE_BOOTSTRAP], input=payload, timeout=limit + PROBE_BACKSTOP)
        except TransportError as exc:
            if "no answer within" not in str(exc):
                raise
            return {"probe_version": probe_module.PROBE_VERSION, "probe_timeout": limit, "timings": {},
                    "error": {"stage": "unknown", "kind": "timeout", "type": "ProbeTimeout", "where": None,
                              "message": f"no answer within {limit + PROBE_BACKSTOP:g}s; the host did not end the probe"}}
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
        try:
            return Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def file_mode(self, path: str) -> int | None:
        try:
            return stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            return None

    def write_atomic(self, path: str, text: str, mode: int | None = None) -> None:
        """Ansible's atomic_move: temp file in the same folder, fsync, mode, rename; no debris on failure."""
        with interrupts_deferred():
            self._write_atomic(Path(path), text, mode)

    @staticmethod
    def _write_atomic(target: Path, text: str, mode: int | None) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
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
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
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
