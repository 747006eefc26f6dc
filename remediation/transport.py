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

- what differs between this machine and a remote one, so no caller ever asks which transport it
  holds: ``project_path``, ``user_path``, ``default_python``, ``can_write``, ``git_facts``,
  ``docker_facts``, ``git_push``, ``hold_lock`` (remediation/lock.py).

The base class is a host reached only by running commands (what ``Ssh`` is); ``Local`` overrides
what this process can do itself (GitPython, ``os.access``, in-process hostfacts).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import posixpath
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

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
    Path(folder, "reached.tmp").write_text(f"{point} {path}\n")
    os.replace(os.path.join(folder, "reached.tmp"), os.path.join(folder, "reached"))  # seen whole or not at all
    with open(os.path.join(folder, "release"), "rb") as fifo:
        fifo.read()


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

    def close(self) -> None:
        """Let go of the connection (remote transports); nothing to do here."""

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
        """The files around the project, with git and Docker, in one round trip (remediation/hostfacts.py)."""
        config = {**config, "git": True, "docker": True}
        return self.run_script(python, HOSTFACTS_SOURCE, config, "@@REMEDIATION-HOSTFACTS@@")

    # --- what differs between hosts ---------------------------------------------------------

    def project_path(self, project: str | None, default: str | os.PathLike | None = None) -> str:
        """The project folder a person named; a remote host has no default project."""
        if not project:
            raise TransportError(f"{self.name}: no project path (set the host's `project` var)")
        return str(project)

    def user_path(self, path: str, base: str) -> str:
        """A path a person typed (``--env-file``): on a remote host relative to the project ``base``
        (``~`` is left to the host)."""
        return path if path.startswith(("/", "~")) else posixpath.join(base, path)

    def default_python(self, project: str | None = None) -> str:
        """A remote host's interpreter unless the host var ``python`` names one."""
        return "python3"

    def can_write(self, path: str) -> bool:
        """Whether the login user may replace ``path`` (write its folder, and the file if it exists)."""
        script = 'test -w "$(dirname -- "$1")" && { test ! -e "$1" || test -w "$1"; }'
        return self.run(["sh", "-c", script, "sh", path], timeout=60).returncode == 0

    def git_facts(self, root: str, collected: dict):
        """The project's git state: here, what hostfacts' git commands found on the host."""
        from .facts import remote_git

        return remote_git(collected["git"])

    def docker_facts(self, collected: dict) -> dict:
        return collected["docker"]

    def git_push(self, root: str, remote: str, branch: str) -> str:
        """Push ``branch`` to ``remote`` and track it; TransportError with git's last line on failure."""
        result = self.run(["git", "push", "--porcelain", "-u", remote, f"{branch}:{branch}"], cwd=root, timeout=300)
        if result.returncode != 0:
            raise TransportError(f"git push to {remote} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
        return f"pushed {branch} to {remote}"

    def hold_lock(self, path: str, holder: dict):
        """Hold an exclusive lock on ``path`` while the returned context is open (remediation/lock.py)."""
        raise NotImplementedError

    def hold(self, argv: list[str], first_input: str, timeout: float = 60):
        """Start ``argv``, send it ``first_input`` (one line: secrets travel here, never in argv) and
        yield the first line it prints; it runs until the context ends and its stdin closes, or until
        this process or the connection dies (a lock holder: remediation/deploy/dblock.py)."""
        raise NotImplementedError

    def put_file(self, local: str, remote: str, mode: int = 0o600) -> None:
        """Copy the controller's file ``local`` to ``remote`` on the host (not atomic: callers write
        to a temp name they own and rename)."""
        raise NotImplementedError

    def get_file(self, remote: str, local: str) -> None:
        """Copy the host's file ``remote`` to ``local`` on the controller."""
        raise NotImplementedError


class Local(Transport):
    name = "localhost"

    def run(self, argv, *, input=None, timeout=None, env=None, cwd=None) -> Result:
        if cwd is not None and not os.path.isdir(cwd):
            raise TransportError(f"{cwd}: no such directory")
        try:
            done = subprocess.run(  # undecodable bytes replaced, as Ssh decodes them (git prints file content)
                argv, input=input, capture_output=True, text=True, errors="replace", timeout=timeout,
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
        return hostfacts.collect(config)  # in-process; git and Docker are read meanwhile, in threads

    def project_path(self, project, default=None) -> str:
        return str(Path(project or default).expanduser().resolve())

    def user_path(self, path: str, base: str) -> str:
        return str(Path(path).expanduser().absolute())  # relative to the working directory

    def default_python(self, project: str | None = None) -> str:
        """The project's own interpreter when it is evident, else this one: a toolkit installed with
        pipx (or in a venv of its own) has no Django, the project's venv has. In order: an activated
        virtualenv ($VIRTUAL_ENV), then .venv/, venv/ or env/ at the project root or one level down
        (beside a backend/manage.py), then the interpreter running the toolkit."""
        candidates = [Path(os.environ["VIRTUAL_ENV"])] if os.environ.get("VIRTUAL_ENV") else []
        if project:
            root = Path(project)
            folders = [root] + sorted(p.parent for p in root.glob("*/manage.py"))
            candidates += [folder / name for folder in folders for name in (".venv", "venv", "env")]
        for venv in candidates:
            python = venv / "bin" / "python"
            if (venv / "pyvenv.cfg").is_file() and os.access(python, os.X_OK):
                return str(python)
        return sys.executable

    def can_write(self, path: str) -> bool:
        return os.access(os.path.dirname(path) or ".", os.W_OK) and (not os.path.exists(path) or os.access(path, os.W_OK))

    def git_facts(self, root: str, collected: dict):
        from .facts import read_git  # GitPython reaches a work tree on this machine

        return read_git(Path(root))

    def docker_facts(self, collected: dict) -> dict:
        return hostfacts.docker()

    def git_push(self, root: str, remote: str, branch: str) -> str:
        import git

        repo = git.Repo(root)
        try:
            infos = repo.remote(remote).push(refspec=f"{branch}:{branch}", set_upstream=True)
        except git.GitCommandError as exc:
            raise TransportError(f"git push to {remote} failed: {(str(exc.stderr).strip().splitlines() or ['?'])[-1]}") from None
        failed = [info for info in infos if info.flags & info.ERROR]
        if failed:
            raise TransportError(f"git push to {remote} rejected: {failed[0].summary.strip()}")
        return f"pushed {branch} to {remote}"

    def hold_lock(self, path: str, holder: dict):
        from .lock import local_lock

        return local_lock(path, holder)

    @contextlib.contextmanager
    def hold(self, argv, first_input, timeout=60):
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)
        except OSError as exc:
            raise TransportError(f"{argv[0]}: {exc.strerror or exc}") from None
        try:
            proc.stdin.write(first_input.rstrip("\n") + "\n")
            proc.stdin.flush()
            timer = threading.Timer(timeout, proc.kill)  # a holder that never answers is killed, read ends
            timer.start()
            try:
                line = proc.stdout.readline().strip()
            finally:
                timer.cancel()
            if not line:
                error = (proc.stderr.read().strip().splitlines() or ["no output"])[-1]
                raise TransportError(f"{argv[0]}: the holder did not start ({error[:200]})")
            yield line
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

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

    def put_file(self, local: str, remote: str, mode: int = 0o600) -> None:
        shutil.copyfile(local, remote)
        os.chmod(remote, mode)

    def get_file(self, remote: str, local: str) -> None:
        shutil.copyfile(remote, local)

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
