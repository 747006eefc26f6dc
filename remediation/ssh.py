"""``Ssh``: the ``Transport`` interface over one SSH connection per host (fabric + paramiko).

One fabric ``Connection`` per host serves the whole run: commands run on channels of it, files
move over its one SFTP session. It is opened on first use and stays open until ``close()``.

Host keys fail closed. fabric's ``Connection`` silently trusts every host: it installs paramiko's
``AutoAddPolicy`` and loads no known_hosts file at all (the same holds for the jump hosts it
builds from a ``ProxyJump``). ``Ssh`` replaces that on the connection and on every jump host:

- known keys come from ``known_hosts`` (default: the user's ``~/.ssh/known_hosts``, or
  ``UserKnownHostsFile`` from ssh_config, plus ``/etc/ssh/ssh_known_hosts``);
- an unknown key is refused, naming the host and the offered key's SHA256 fingerprint; with
  ``accept_new_host_keys=True`` it is appended to the known_hosts file instead (trust on first
  use; an append under a thread lock and an ``flock``, so parallel hosts do not clobber it);
- a changed key is always refused, and so is a key listed as ``@revoked``.

ssh_config (``~/.ssh/config`` and ``/etc/ssh/ssh_config``, or ``ssh_config=PATH`` alone) is
honoured as fabric reads it: HostName, Port, User, IdentityFile, ConnectTimeout, ForwardAgent,
ProxyJump and ProxyCommand (paramiko ignores ``Include``). Keys: ``key_file``, ssh_config
IdentityFiles, the agent, then ``~/.ssh/id_*``.

Commands: ``argv`` is quoted with ``shlex.join`` and run by the login shell (which must be POSIX).
``input`` goes over the channel's stdin. ``env`` values never appear on a command line (a process
list would show them): a fixed ``python3`` bootstrap reads them from the first line of stdin and
``exec``s the program, so ``env`` needs ``python3`` on the host. ``become=True`` runs the command
through ``sudo``; a sudo password (``sudo_password``, e.g. from ``sudo_password_from_env()``) is
checked once per connection and then sent as the first line of stdin, never on a command line.
File operations (SFTP) always run as the login user.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import getpass
import hashlib
import json
import os
import posixpath
import shlex
import socket
import stat
import threading
import time
import uuid

import logging

import paramiko
from fabric import Config, Connection
from paramiko.sftp import CMD_EXTENDED

from .transport import Result, Transport, TransportError

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
SUDO_PASSWORD_ENV = "REMEDIATION_SUDO_PASSWORD"
KEEPALIVE_SECONDS = 30

# paramiko logs a traceback from its transport thread when we drop a half-open connection; every
# failure reaches the caller as a TransportError instead. (Configured logging still sees them.)
logging.getLogger("paramiko").addHandler(logging.NullHandler())

_NO_PROGRAM = "@@REMEDIATION-NO-PROGRAM@@"
_NOT_EXECUTABLE = "@@REMEDIATION-NOT-EXECUTABLE@@"
_NO_CWD = "@@REMEDIATION-NO-CWD@@"
_NO_PYTHON = "@@REMEDIATION-NO-PYTHON3@@"

# Fixed and secret-free: reads one JSON line {"env": ..., "cwd": ...} from stdin byte by byte
# (so the program exec'd after it gets the rest of stdin untouched), then execs argv.
ENV_BOOTSTRAP = (
    "import json, os, sys\n"
    "line = b''\n"
    "while not line.endswith(b'\\n'):\n"
    "    byte = os.read(0, 1)\n"
    "    if not byte: break\n"
    "    line += byte\n"
    "config = json.loads(line)\n"
    "if config.get('cwd'):\n"
    "    try: os.chdir(config['cwd'])\n"
    f"    except OSError: sys.stderr.write('{_NO_CWD}\\n'); sys.exit(1)\n"
    "env = dict(os.environ); env.update(config['env'])\n"
    "try: os.execvpe(sys.argv[1], sys.argv[1:], env)\n"
    f"except FileNotFoundError: sys.stderr.write('{_NO_PROGRAM}\\n'); sys.exit(127)\n"
    f"except PermissionError: sys.stderr.write('{_NOT_EXECUTABLE}\\n'); sys.exit(126)\n"
)


class HostKeyError(TransportError):
    """The host's key is unknown, changed or revoked: nothing was sent to it."""


def key_fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:...`` as ``ssh-keygen -lf`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def sudo_password_from_env(name: str = SUDO_PASSWORD_ENV, prompt: bool = False, label: str = "") -> str | None:
    """The sudo password from environment variable ``name``; else, with ``prompt``, ask on the terminal."""
    value = os.environ.get(name)
    if value:
        return value
    if prompt:
        return getpass.getpass(f"sudo password{' for ' + label if label else ''}: ")
    return None


def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or type(text).__name__


# --- known_hosts ------------------------------------------------------------------------------

_file_locks: dict[str, threading.Lock] = {}
_file_locks_guard = threading.Lock()


def _file_lock(path: str) -> threading.Lock:
    with _file_locks_guard:
        return _file_locks.setdefault(os.path.realpath(path), threading.Lock())


class KnownHosts:
    """The known_hosts files of one ``Ssh``: ``path`` is read and (trust on first use) appended to;
    ``extra`` files (the global one) are only read."""

    def __init__(self, path: str, extra: tuple[str, ...] = (), hash_names: bool = False):
        self.path = os.path.expanduser(path)
        self.extra = tuple(os.path.expanduser(p) for p in extra)
        self.hash_names = hash_names

    def files(self) -> list[str]:
        return [p for p in (self.path, *self.extra) if os.path.isfile(p)]

    def load(self) -> paramiko.HostKeys:
        """All known keys. Not ``HostKeys.load``: that dies on the first ``@revoked`` or
        ``@cert-authority`` line. Marker lines and lines paramiko cannot parse (key types it does
        not know, wildcard patterns it cannot match) are skipped: those hosts stay unknown."""
        keys = paramiko.HostKeys()
        for path in self.files():
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    lines = handle.read().splitlines()
            except OSError as exc:
                raise TransportError(f"{path}: cannot read known hosts ({_one_line(exc.strerror or exc)})") from None
            for number, line in enumerate(lines, 1):
                line = line.strip()
                if not line or line.startswith(("#", "@")):
                    continue
                try:
                    entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
                except Exception:  # InvalidHostKey (a bare Exception), SSHException, ...
                    continue
                if entry is not None:
                    for name in entry.hostnames:
                        keys.add(name, entry.key.get_name(), entry.key)
        return keys

    def revoked(self) -> set[bytes]:
        """Key blobs marked ``@revoked`` (paramiko skips those lines; we refuse the keys)."""
        blobs = set()
        for path in self.files():
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    fields = line.split()
                    if len(fields) >= 4 and fields[0] == "@revoked":
                        try:
                            blobs.add(base64.b64decode(fields[3]))
                        except ValueError:
                            pass
        return blobs

    def known_for(self, hostname: str) -> dict | None:
        return self.load().lookup(hostname)

    def record(self, hostname: str, key: paramiko.PKey, label: str) -> None:
        """Append ``hostname key`` to ``path`` unless already there; refuse if another key is."""
        directory = os.path.dirname(self.path) or "."
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700, exist_ok=True)
        with _file_lock(self.path):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "r+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # other processes too
                try:
                    known = self.known_for(hostname)
                    if known is not None:
                        present = known.get(key.get_name())
                        if present == key:
                            return  # another thread or process recorded it meanwhile
                        previous = present or next(iter(known.values()))
                        raise HostKeyError(_changed_message(label, key, previous, self.path))
                    handle.seek(0, os.SEEK_END)
                    prefix = b""
                    if handle.tell() > 0:
                        handle.seek(-1, os.SEEK_END)
                        if handle.read(1) != b"\n":
                            prefix = b"\n"
                    name = paramiko.HostKeys.hash_host(hostname) if self.hash_names else hostname
                    handle.write(prefix + f"{name} {key.get_name()} {key.get_base64()}\n".encode())
                    handle.flush()
                    os.fsync(handle.fileno())
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _changed_message(label: str, offered: paramiko.PKey, known: paramiko.PKey | None, where: str) -> str:
    known_text = f", known {known.get_name()} {key_fingerprint(known)}" if known is not None else ""
    return (f"{label}: host key CHANGED (offered {offered.get_name()} {key_fingerprint(offered)}{known_text} "
            f"in {where}), refusing to connect; if the change is expected, remove the old line "
            f"(ssh-keygen -R) after verifying the new key")


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Called by paramiko for a host absent from known_hosts: refuse, or record (accept_new)."""

    def __init__(self, known_hosts: KnownHosts, accept_new: bool, label: str):
        self.known_hosts = known_hosts
        self.accept_new = accept_new
        self.label = label

    def missing_host_key(self, client, hostname, key):
        if key.asbytes() in self.known_hosts.revoked():
            raise HostKeyError(f"{self.label}: host key {key_fingerprint(key)} is REVOKED in known_hosts, "
                               "refusing to connect")
        if not self.accept_new:
            raise HostKeyError(
                f"{self.label}: unknown host key {key.get_name()} {key_fingerprint(key)} "
                f"(not in {self.known_hosts.path}); verify it and run with --accept-new-host-keys")
        self.known_hosts.record(hostname, key, self.label)
        client.get_host_keys().add(hostname, key.get_name(), key)


# --- the transport ----------------------------------------------------------------------------


class Ssh(Transport):
    """The ``Transport`` interface on a remote host, over one SSH connection.

    ``name`` names the host in messages (and is the ssh_config alias when ``address`` is None);
    ``address`` is what to connect to (a host name, an IP, or an ssh_config alias).
    """

    def __init__(self, name: str, address: str | None = None, port: int | None = None, user: str | None = None,
                 key_file: str | list[str] | None = None, known_hosts: str | None = None,
                 accept_new_host_keys: bool = False, connect_timeout: float = 10,
                 sudo_password: str | None = None, become: bool = False, ssh_config: str | None = None,
                 forward_agent: bool | None = None):
        self.name = name
        self.accept_new_host_keys = accept_new_host_keys
        self.connect_timeout = connect_timeout
        self.sudo_password = sudo_password
        self.become = become
        key_files = [key_file] if isinstance(key_file, str) else list(key_file or [])
        timeout = max(1, int(round(connect_timeout)))
        config = Config(
            overrides={
                "connect_kwargs": {
                    **({"key_filename": [os.path.expanduser(k) for k in key_files]} if key_files else {}),
                    "banner_timeout": connect_timeout,
                    "auth_timeout": max(connect_timeout, 30),
                    "channel_timeout": max(connect_timeout, 30),
                },
                "timeouts": {"connect": timeout},
            },
            runtime_ssh_path=os.path.expanduser(ssh_config) if ssh_config else None,
        )
        try:
            self._conn = Connection(address or name, user=user, port=port, config=config,
                                    forward_agent=forward_agent)
        except (OSError, ValueError, paramiko.SSHException) as exc:
            raise TransportError(f"{name}: bad SSH settings ({_one_line(exc)})") from None
        self.address, self.port, self.user = self._conn.host, int(self._conn.port), self._conn.user
        self.label = (f"{name} ({self.address}:{self.port})" if name != self.address
                      else f"{self.address}:{self.port}")

        ssh_settings = self._conn.ssh_config
        if known_hosts is None:
            user_files = ssh_settings.get("userknownhostsfile", DEFAULT_KNOWN_HOSTS).split()
            self.known_hosts = KnownHosts(user_files[0] if user_files else DEFAULT_KNOWN_HOSTS,
                                          (*user_files[1:], GLOBAL_KNOWN_HOSTS),
                                          hash_names=ssh_settings.get("hashknownhosts", "no").lower() == "yes")
        else:
            self.known_hosts = KnownHosts(known_hosts)
        self._connect_lock = threading.Lock()
        self._sftp_lock = threading.RLock()
        self._sudo_mode: str | None = None
        self._hardened = False

    # --- connection -----------------------------------------------------------------------

    def _chain(self) -> list[tuple[Connection, str]]:
        """The connection and its jump hosts (fabric builds those from ProxyJump), with labels."""
        chain, conn, label = [], self._conn, self.label
        while isinstance(conn, Connection):
            chain.append((conn, label))
            conn = conn.gateway
            if isinstance(conn, Connection):
                label = f"{self.label} via jump host {conn.user}@{conn.host}:{conn.port}"
        return chain

    def _harden(self) -> None:
        """Replace fabric's AutoAddPolicy (and empty host key store) on every client in the chain."""
        for conn, label in self._chain():
            client = conn.client
            client.set_missing_host_key_policy(_HostKeyPolicy(self.known_hosts, self.accept_new_host_keys, label))
            client._system_host_keys = self.known_hosts.load()  # read-only store; no save() on close
            client.get_host_keys().clear()
        self._hardened = True

    def _connect(self) -> Connection:
        conn = self._conn
        if conn.is_connected:
            return conn
        with self._connect_lock:
            if conn.is_connected:
                return conn
            if self._hardened:
                self._abort()  # a dropped connection: forget its dead transport and SFTP session
            try:
                self._harden()
                conn.open()
                self._check_not_revoked()
            except BaseException as exc:
                self._abort()
                if isinstance(exc, TransportError):
                    raise
                if isinstance(exc, Exception):
                    raise TransportError(self._describe(exc)) from None
                raise
            conn.transport.set_keepalive(KEEPALIVE_SECONDS)
            self._sudo_mode = None
            return conn

    def _check_not_revoked(self) -> None:
        for conn, label in self._chain():
            key = conn.transport.get_remote_server_key() if conn.transport else None
            if key is not None and key.asbytes() in self.known_hosts.revoked():
                raise HostKeyError(f"{label}: host key {key_fingerprint(key)} is REVOKED in known_hosts, "
                                   "refusing to connect")

    def _abort(self) -> None:
        """Tear down a half-open connection (fabric's close() skips a client that never finished)."""
        for conn, _ in self._chain():
            try:
                if conn._sftp is not None:
                    conn._sftp.close()
                    conn._sftp = None
            except Exception:
                pass
            try:
                conn.client.close()
            except Exception:
                pass
            conn.transport = None

    def _describe(self, exc: Exception) -> str:
        label = self.label
        if isinstance(exc, paramiko.BadHostKeyException):
            where = f"{self.known_hosts.path}"
            hop = next((lbl for c, lbl in self._chain() if c.host == exc.hostname), label)
            return _changed_message(hop, exc.key, exc.expected_key, where)
        if isinstance(exc, paramiko.AuthenticationException):
            keys = list(self._conn.connect_kwargs.get("key_filename") or [])
            tried = ", ".join(keys + ["the agent", "~/.ssh/id_*"])
            return f"{label}: authentication as {self.user!r} failed ({_one_line(exc)}); tried {tried}"
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            reasons = sorted({_one_line(e.strerror or e) for e in exc.errors.values()})
            return f"{label}: cannot connect ({'; '.join(reasons)})"
        if isinstance(exc, socket.gaierror):
            return f"{label}: cannot resolve {self.address} ({exc.strerror})"
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return f"{label}: no answer within {self.connect_timeout:g}s (connect timeout)"
        if isinstance(exc, EOFError):
            return f"{label}: the server closed the connection during the SSH handshake"
        if isinstance(exc, paramiko.SSHException):
            text = _one_line(exc)
            if text.startswith(("No existing session", "Error reading SSH protocol banner")):
                # paramiko's words for "no SSH handshake before the timeout"
                return (f"{label}: no SSH handshake within {self.connect_timeout:g}s "
                        "(not an SSH server, or one too busy to answer)")
            return f"{label}: SSH error: {text}"
        if isinstance(exc, OSError):
            return f"{label}: cannot connect ({_one_line(exc.strerror or exc)})"
        return f"{label}: cannot connect ({type(exc).__name__}: {_one_line(exc)})"

    def open(self) -> None:
        """Connect now, so that a host that cannot be reached is told apart from later failures."""
        self._connect()

    def close(self) -> None:
        with self._connect_lock:
            try:
                self._conn.close()
            finally:
                self._abort()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Ssh({self.label})"

    # --- commands -------------------------------------------------------------------------

    def run(self, argv, *, input=None, timeout=None, env=None, cwd=None, become=None) -> Result:
        if not argv:
            raise ValueError("run() needs a program")
        argv = [str(a) for a in argv]
        become = self.become if become is None else become
        stdin = (input or "").encode("utf-8")
        program = shlex.quote(argv[0])
        if env:
            header = json.dumps({"env": {str(k): str(v) for k, v in env.items()}, "cwd": cwd}) + "\n"
            stdin = header.encode("utf-8") + stdin
            command = shlex.join(["python3", "-c", ENV_BOOTSTRAP, *argv])
            check = "" if become else self._program_check("python3", _NO_PYTHON)
        else:
            command = shlex.join(argv)
            check = "" if become else self._program_check(program)
        if become:
            sudo, secret = self._sudo_prefix()
            command = f"{sudo} {command}"
            stdin = secret + stdin
        if cwd and not env:
            check = (f"cd -- {shlex.quote(cwd)} 2>/dev/null || {{ printf '%s\\n' '{_NO_CWD}' >&2; exit 1; }}; "
                     + check)
        result = self._exec(check + "exec " + command, stdin, timeout, argv[0])
        return self._interpret(result, argv, cwd, env, become)

    @staticmethod
    def _program_check(program: str, missing: str = _NO_PROGRAM) -> str:
        """Shell that tells a missing or non-executable program apart from the program's own exit codes."""
        return (f"case {program} in */*) [ -e {program} ] || {{ printf '%s\\n' '{missing}' >&2; exit 127; }}; "
                f"[ -x {program} ] && [ ! -d {program} ] || {{ printf '%s\\n' '{_NOT_EXECUTABLE}' >&2; exit 126; }};; "
                f"*) command -v -- {program} >/dev/null 2>&1 || {{ printf '%s\\n' '{missing}' >&2; exit 127; }};; "
                "esac; ")

    def _interpret(self, result: Result, argv, cwd, env, become) -> Result:
        # Our markers are the last line of stderr (a login shell's rc files may print before them).
        last = result.stderr.rstrip("\n").rsplit("\n", 1)[-1]
        if result.returncode in (1, 126, 127) and last in (_NO_PROGRAM, _NOT_EXECUTABLE, _NO_CWD, _NO_PYTHON):
            if last == _NO_PYTHON:
                raise TransportError(f"python3: no such program (needed on {self.label} to pass env)")
            if last == _NO_CWD:
                raise TransportError(f"{cwd}: no such directory")
            if last == _NOT_EXECUTABLE:
                raise TransportError(f"{argv[0]}: not executable")
            raise TransportError(f"{argv[0]}: no such program")
        if become and result.returncode == 1 and f"sudo: {argv[0]}: command not found" in result.stderr:
            raise TransportError(f"{argv[0]}: no such program")
        return result

    def _exec(self, command: str, stdin: bytes, timeout: float | None, what: str) -> Result:
        """Run one shell command line on a new channel: stdin in, stdout/stderr out, exit status."""
        conn = self._connect()
        try:
            channel = conn.create_session()
            channel.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self._abort()
            raise TransportError(f"{self.label}: lost the connection ({_one_line(exc)})") from None
        out: list[bytes] = []
        err: list[bytes] = []

        def pump(receive, sink):
            try:
                while True:
                    data = receive(65536)
                    if not data:
                        return
                    sink.append(data)
            except (OSError, EOFError, paramiko.SSHException):
                return

        def feed():
            try:
                if stdin:
                    channel.sendall(stdin)
                channel.shutdown_write()
            except (OSError, EOFError, paramiko.SSHException):
                pass  # the program exited without reading all of its stdin

        threads = [threading.Thread(target=pump, args=(channel.recv, out), daemon=True),
                   threading.Thread(target=pump, args=(channel.recv_stderr, err), daemon=True),
                   threading.Thread(target=feed, daemon=True)]
        for thread in threads:
            thread.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads[:2]:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        finished = channel.status_event.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if not finished or any(t.is_alive() for t in threads[:2]):
            channel.close()  # the remote program may run on until it next reads or writes
            if not conn.is_connected:
                raise TransportError(f"{self.label}: lost the connection while running {what}")
            raise TransportError(f"{what}: no answer within {timeout:g}s")
        channel.close()
        if not conn.is_connected and channel.exit_status == -1:
            raise TransportError(f"{self.label}: lost the connection while running {what}")
        return Result(channel.exit_status, b"".join(out).decode("utf-8", "replace"),
                      b"".join(err).decode("utf-8", "replace"))

    def _sudo_prefix(self) -> tuple[str, bytes]:
        """``sudo`` options and the stdin prefix, after finding out (once) whether sudo needs a password."""
        if self._sudo_mode is None:
            probe = self._exec("exec sudo -n -k true", b"", self.connect_timeout + 20, "sudo")
            if probe.returncode == 127:
                raise TransportError(f"{self.label}: sudo: no such program (needed to become root)")
            if probe.returncode == 0:
                self._sudo_mode = "nopasswd"
            elif not self.sudo_password:
                raise TransportError(f"{self.label}: sudo needs a password ({_one_line(probe.stderr)[:120]}); "
                                     f"set {SUDO_PASSWORD_ENV} or ask for it at the prompt")
            else:
                check = self._exec("exec sudo -S -k -p '' true", self.sudo_password.encode() + b"\n",
                                   self.connect_timeout + 20, "sudo")
                if check.returncode != 0:
                    raise TransportError(f"{self.label}: sudo refused the password "
                                         f"({_one_line(check.stderr)[:120] or 'no reason given'})")
                self._sudo_mode = "password"
        if self._sudo_mode == "nopasswd":
            return "sudo -n --", b""
        return "sudo -S -k -p '' --", self.sudo_password.encode() + b"\n"

    # --- files (SFTP, as the login user) --------------------------------------------------

    def _sftp(self) -> paramiko.SFTPClient:
        conn = self._connect()
        try:
            return conn.sftp()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise TransportError(f"{self.label}: no SFTP session ({_one_line(exc)})") from None

    def _file_error(self, exc: OSError, path: str) -> OSError:
        """paramiko's IOError, as an OSError with an errno callers can print (like ``Local``'s)."""
        code = exc.errno or errno.EIO
        reason = exc.strerror or (exc.args[0] if exc.args else "") or os.strerror(code)
        return OSError(code, f"{reason} (on {self.label})", path)

    def _file_op(self, what, path, *args):
        with self._sftp_lock:
            sftp = self._sftp()
            try:
                return what(sftp, *args)
            except (EOFError, paramiko.SSHException) as exc:
                self._abort()
                raise TransportError(f"{self.label}: lost the connection ({_one_line(exc)})") from None
            except OSError as exc:
                if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
                    raise
                raise self._file_error(exc, path) from None

    def read_text(self, path: str) -> str | None:
        def read(sftp):
            with sftp.open(path, "rb") as handle:
                return handle.read().decode("utf-8")
        try:
            return self._file_op(read, path)
        except FileNotFoundError:
            return None

    def file_mode(self, path: str) -> int | None:
        try:
            return stat.S_IMODE(self._file_op(lambda sftp: sftp.stat(path), path).st_mode)
        except FileNotFoundError:
            return None

    def write_atomic(self, path: str, text: str, mode: int | None = None) -> None:
        """Temp file in the same folder (created 0600, then ``mode``), fsync, rename over ``path``.

        Without ``mode`` an existing file keeps its mode; a new one gets 0600 (as ``Local``).
        An existing file's owner and group are kept when the login user may set them.
        On any failure the temp file is removed and the target is untouched.
        """
        folder, name = posixpath.split(path)
        tmp = posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
        data = text.encode("utf-8")

        def write(sftp):
            try:
                current = sftp.stat(path)
            except FileNotFoundError:
                current = None
            final_mode = mode if mode is not None else (stat.S_IMODE(current.st_mode) if current else 0o600)
            created = False
            try:
                with sftp.open(tmp, "wbx") as handle:
                    created = True
                    handle.chmod(0o600)  # before any content arrives
                    if current is not None:
                        try:
                            handle.chown(current.st_uid, current.st_gid)
                        except OSError:
                            pass  # not ours to give away: the file becomes the login user's
                    handle.chmod(final_mode)
                    handle.write(data)
                    handle.flush()
                    self._fsync(sftp, handle, tmp)
                sftp.posix_rename(tmp, path)
                created = False
            finally:
                if created:
                    try:
                        sftp.remove(tmp)
                    except Exception:
                        pass
            self._sync_folder(sftp, folder or ".")

        self._file_op(write, path)

    def _fsync(self, sftp, handle, tmp: str) -> None:
        """fsync@openssh.com on the open handle; without that extension, ``sync FILE`` on the host."""
        try:
            sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
        except OSError:
            self._exec(f"exec sync -- {shlex.quote(tmp)}", b"", 60, "sync")

    def _sync_folder(self, sftp, folder: str) -> None:
        """Best effort, like ``Local``'s: fsync the folder so the rename is durable. OpenSSH's
        sftp-server opens a folder read-only as a file handle, which fsync@openssh.com accepts;
        elsewhere ``sync FOLDER`` runs on the host. Never fails the write."""
        try:
            with sftp.open(folder, "r") as handle:
                sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
            return
        except (OSError, paramiko.SSHException):
            pass
        try:
            self._exec(f"exec sync -- {shlex.quote(folder)} 2>/dev/null", b"", 60, "sync")
        except TransportError:
            pass

    def copy(self, src: str, dst: str) -> None:
        """``cp -p`` on the host (mode and times kept, like ``shutil.copy2``)."""
        result = self._exec(f"exec cp -p -- {shlex.quote(src)} {shlex.quote(dst)}", b"", 300, "cp")
        if result.returncode != 0:
            reason = _one_line(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed")
            code = errno.ENOENT if "No such file" in reason else (errno.EACCES if "Permission denied" in reason
                                                                  else errno.EIO)
            raise OSError(code, f"cp failed on {self.label}: {reason}", src)

    def remove(self, path: str) -> None:
        try:
            self._file_op(lambda sftp: sftp.remove(path), path)
        except FileNotFoundError:
            pass

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        """Like ``Path.mkdir(parents=True, exist_ok=True, mode=mode)``: ``mode`` for the last folder."""

        def make(sftp):
            missing = []
            current = path.rstrip("/") or "/"
            while True:
                try:
                    attributes = sftp.stat(current)
                except FileNotFoundError:
                    missing.append(current)
                    parent = posixpath.dirname(current)
                    if parent == current:
                        break
                    current = parent
                    continue
                if not stat.S_ISDIR(attributes.st_mode):
                    raise FileExistsError(errno.EEXIST, "File exists (not a directory)", current)
                break
            for index, folder in enumerate(reversed(missing)):
                last = index == len(missing) - 1
                try:
                    sftp.mkdir(folder, mode if last else 0o777)
                except OSError:
                    if not stat.S_ISDIR(sftp.stat(folder).st_mode):  # raced with another writer?
                        raise

        self._file_op(make, path)
