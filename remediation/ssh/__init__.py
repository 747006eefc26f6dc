"""``Ssh``: the ``Transport`` interface over one SSH connection per host (fabric + paramiko).

One fabric ``Connection`` per host serves the whole run: commands run on channels of it, files
move over its one SFTP session. It is opened on first use and stays open until ``close()``.
``Ssh`` is a small facade over three parts, one job each:

- ``connection.py``: the connection, ssh_config, jump hosts, and one-line failure messages;
  ``hostkeys.py``: known_hosts failing closed (unknown, changed and revoked keys are refused);
- ``commands.py``: commands on channels, env over stdin, sudo;
- ``files.py``: SFTP file operations (atomic writes), as the login user.
"""

from __future__ import annotations

import contextlib

from ..transport import Result, Transport, TransportError
from .commands import ENV_BOOTSTRAP, SUDO_PASSWORD_ENV, SshCommands, sudo_password_from_env
from .connection import KEEPALIVE_SECONDS, SshConnection
from .files import SshFiles
from .hostkeys import DEFAULT_KNOWN_HOSTS, GLOBAL_KNOWN_HOSTS, HostKeyError, KnownHosts, key_fingerprint

__all__ = ["Ssh", "HostKeyError", "KnownHosts", "key_fingerprint", "sudo_password_from_env",
           "DEFAULT_KNOWN_HOSTS", "GLOBAL_KNOWN_HOSTS", "SUDO_PASSWORD_ENV", "KEEPALIVE_SECONDS", "ENV_BOOTSTRAP"]


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
        self.connection = SshConnection(name, address, port, user, key_file, known_hosts, accept_new_host_keys,
                                        connect_timeout, ssh_config, forward_agent)
        self.commands = SshCommands(self.connection, sudo_password, become)
        self.files = SshFiles(self.commands)
        self.name = name
        self.address, self.port, self.user = self.connection.address, self.connection.port, self.connection.user
        self.label = self.connection.label
        self.known_hosts = self.connection.known_hosts

    # --- connection
    def open(self) -> None:
        self.connection.open()

    def close(self) -> None:
        self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Ssh({self.label})"

    # --- commands
    def run(self, argv, *, input=None, timeout=None, env=None, cwd=None, become=None) -> Result:
        return self.commands.run(argv, input=input, timeout=timeout, env=env, cwd=cwd, become=become)

    def can_write(self, path: str) -> bool:
        """As the login user: files are written over SFTP, never through sudo."""
        script = 'test -w "$(dirname -- "$1")" && { test ! -e "$1" || test -w "$1"; }'
        return self.commands.run(["sh", "-c", script, "sh", path], timeout=60, become=False).returncode == 0

    def hold_lock(self, path: str, holder: dict):
        from ..lock import remote_lock

        return remote_lock(self.commands, path, {**holder, "via": self.label})

    @contextlib.contextmanager
    def hold(self, argv, first_input, timeout=60):
        channel = self.commands.start(argv)
        try:
            channel.settimeout(timeout)
            try:
                channel.sendall((first_input.rstrip("\n") + "\n").encode("utf-8"))
                line = channel.makefile("rb").readline().decode("utf-8", "replace").strip()
            except (OSError, EOFError) as exc:
                raise TransportError(f"{self.label}: no answer from {argv[0]} ({exc})") from None
            if not line:
                error = channel.makefile_stderr("rb").read().decode("utf-8", "replace").strip().splitlines()
                raise TransportError(f"{self.label}: {argv[0]}: the holder did not start ({(error or ['no output'])[-1][:200]})")
            channel.settimeout(None)
            yield line
        finally:
            try:  # its stdin closes: it lets go and exits
                channel.shutdown_write()
                channel.status_event.wait(timeout)
            except Exception:  # the connection is gone, and with it the holder
                pass
            channel.close()

    # --- files
    def read_text(self, path: str) -> str | None:
        return self.files.read_text(path)

    def file_mode(self, path: str) -> int | None:
        return self.files.file_mode(path)

    def write_atomic(self, path: str, text: str | bytes, mode: int | None = None) -> None:
        self.files.write_atomic(path, text, mode)

    def read_bytes(self, path: str) -> bytes | None:
        return self.files.read_bytes(path)

    def lstat(self, path: str):
        return self.files.lstat(path)

    def realpath(self, path: str) -> str:
        return self.files.realpath(path)

    def uid(self) -> int:
        return self.files.uid()

    def copy(self, src: str, dst: str) -> None:
        self.files.copy(src, dst)

    def put_file(self, local: str, remote: str, mode: int = 0o600) -> None:
        self.files.put_file(local, remote, mode)

    def get_file(self, remote: str, local: str) -> None:
        self.files.get_file(remote, local)

    def remove(self, path: str) -> None:
        self.files.remove(path)

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        self.files.makedirs(path, mode)
