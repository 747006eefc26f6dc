"""Commands on an SSH host: one channel per command, stdin in, stdout/stderr and exit status out.

``argv`` is quoted with ``shlex.join`` and run by the login shell (which must be POSIX). ``input``
goes over the channel's stdin. ``env`` values never appear on a command line (a process list would
show them): a fixed ``python3`` bootstrap reads them from the first line of stdin and ``exec``s the
program, so ``env`` needs ``python3`` on the host. ``become=True`` runs the command through
``sudo``; a sudo password (``sudo_password``, e.g. from ``sudo_password_from_env()``) is checked
once per connection and then sent as the first line of stdin, never on a command line.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import threading
import time

import paramiko

from ..transport import Result, TransportError
from .connection import SshConnection
from .hostkeys import one_line

SUDO_PASSWORD_ENV = "REMEDIATION_SUDO_PASSWORD"

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


def sudo_password_from_env(name: str = SUDO_PASSWORD_ENV, prompt: bool = False, label: str = "") -> str | None:
    """The sudo password from environment variable ``name``; else, with ``prompt``, ask on the terminal."""
    value = os.environ.get(name)
    if value:
        return value
    if prompt:
        return getpass.getpass(f"sudo password{' for ' + label if label else ''}: ")
    return None


class SshCommands:
    """Runs commands over ``connection``; ``become`` is the default for ``run``."""

    def __init__(self, connection: SshConnection, sudo_password: str | None = None, become: bool = False):
        self.connection = connection
        self.label = connection.label
        self.sudo_password = sudo_password
        self.become = become
        self._sudo_mode: str | None = None
        self._sudo_checked_on = None  # the paramiko transport the sudo mode was found on


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
        result = self.exec(check + "exec " + command, stdin, timeout, argv[0])
        return self._interpret(result, argv, cwd, env, become)

    def start(self, argv: list[str]) -> paramiko.Channel:
        """Start ``argv`` (as the login user) on a channel of its own and hand the channel over: for
        a process that lives while the caller holds it (a lock). Closing the channel ends it."""
        conn = self.connection.connect()
        try:
            channel = conn.create_session()
            channel.exec_command("exec " + shlex.join([str(a) for a in argv]))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.connection.abort()
            raise TransportError(f"{self.label}: lost the connection ({one_line(exc)})") from None
        return channel

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

    def exec(self, command: str, stdin: bytes, timeout: float | None, what: str) -> Result:
        """Run one shell command line on a new channel: stdin in, stdout/stderr out, exit status."""
        conn = self.connection.connect()
        try:
            channel = conn.create_session()
            channel.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.connection.abort()
            raise TransportError(f"{self.label}: lost the connection ({one_line(exc)})") from None
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
        transport = self.connection.connect().transport
        if self._sudo_checked_on is not transport:  # a new connection: find out again
            self._sudo_mode = None
        if self._sudo_mode is None:
            probe = self.exec("exec sudo -n -k true", b"", self.connection.connect_timeout + 20, "sudo")
            if probe.returncode == 127:
                raise TransportError(f"{self.label}: sudo: no such program (needed to become root)")
            if probe.returncode == 0:
                self._sudo_mode = "nopasswd"
            elif not self.sudo_password:
                raise TransportError(f"{self.label}: sudo needs a password ({one_line(probe.stderr)[:120]}); "
                                     f"set {SUDO_PASSWORD_ENV} or ask for it at the prompt")
            else:
                check = self.exec("exec sudo -S -k -p '' true", self.sudo_password.encode() + b"\n",
                                   self.connection.connect_timeout + 20, "sudo")
                if check.returncode != 0:
                    raise TransportError(f"{self.label}: sudo refused the password "
                                         f"({one_line(check.stderr)[:120] or 'no reason given'})")
                self._sudo_mode = "password"
            self._sudo_checked_on = transport
        if self._sudo_mode == "nopasswd":
            return "sudo -n --", b""
        return "sudo -S -k -p '' --", self.sudo_password.encode() + b"\n"
