"""One SSH connection per host (fabric ``Connection``), opened on first use, with every hop's
host key checked against known_hosts (``hostkeys.py``) and failures told in one line.

ssh_config (``~/.ssh/config`` and ``/etc/ssh/ssh_config``, or ``ssh_config=PATH`` alone) is
honoured as fabric reads it: HostName, Port, User, IdentityFile, ConnectTimeout, ForwardAgent,
ProxyJump and ProxyCommand (paramiko ignores ``Include``). Keys: ``key_file``, ssh_config
IdentityFiles, the agent, then ``~/.ssh/id_*``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import paramiko
from fabric import Config, Connection

from ..transport import TransportError
from .hostkeys import (DEFAULT_KNOWN_HOSTS, GLOBAL_KNOWN_HOSTS, HostKeyError, HostKeyPolicy, KnownHosts,
                       changed_message, key_fingerprint, one_line)

KEEPALIVE_SECONDS = 30

# paramiko logs a traceback from its transport thread when we drop a half-open connection; every
# failure reaches the caller as a TransportError instead. (Configured logging still sees them.)
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class SshConnection:
    """The fabric connection of one host and its jump hosts, hardened before it opens.

    ``name`` names the host in messages (and is the ssh_config alias when ``address`` is None);
    ``address`` is what to connect to (a host name, an IP, or an ssh_config alias).
    """

    def __init__(self, name: str, address: str | None = None, port: int | None = None, user: str | None = None,
                 key_file: str | list[str] | None = None, known_hosts: str | None = None,
                 accept_new_host_keys: bool = False, connect_timeout: float = 10,
                 ssh_config: str | None = None, forward_agent: bool | None = None):
        self.name = name
        self.accept_new_host_keys = accept_new_host_keys
        self.connect_timeout = connect_timeout
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
            raise TransportError(f"{name}: bad SSH settings ({one_line(exc)})") from None
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
        self._hardened = False

    def chain(self) -> list[tuple[Connection, str]]:
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
        for conn, label in self.chain():
            client = conn.client
            client.set_missing_host_key_policy(HostKeyPolicy(self.known_hosts, self.accept_new_host_keys, label))
            client._system_host_keys = self.known_hosts.load()  # read-only store; no save() on close
            client.get_host_keys().clear()
        self._hardened = True

    def connect(self) -> Connection:
        conn = self._conn
        if conn.is_connected:
            return conn
        with self._connect_lock:
            if conn.is_connected:
                return conn
            if self._hardened:
                self.abort()  # a dropped connection: forget its dead transport and SFTP session
            try:
                self._harden()
                conn.open()
                self._check_not_revoked()
            except BaseException as exc:
                self.abort()
                if isinstance(exc, TransportError):
                    raise
                if isinstance(exc, paramiko.BadHostKeyException):
                    raise HostKeyError(self._describe(exc)) from None
                if isinstance(exc, Exception):
                    raise TransportError(self._describe(exc)) from None
                raise
            conn.transport.set_keepalive(KEEPALIVE_SECONDS)
            return conn

    def _check_not_revoked(self) -> None:
        for conn, label in self.chain():
            key = conn.transport.get_remote_server_key() if conn.transport else None
            if key is not None and key.asbytes() in self.known_hosts.revoked():
                raise HostKeyError(f"{label}: host key {key_fingerprint(key)} is REVOKED in known_hosts, "
                                   "refusing to connect")

    def abort(self) -> None:
        """Tear down a half-open connection (fabric's close() skips a client that never finished)."""
        for conn, _ in self.chain():
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
            hop = next((lbl for c, lbl in self.chain() if c.host == exc.hostname), label)
            return changed_message(hop, exc.key, exc.expected_key, where)
        if isinstance(exc, paramiko.AuthenticationException):
            keys = list(self._conn.connect_kwargs.get("key_filename") or [])
            tried = ", ".join(keys + ["the agent", "~/.ssh/id_*"])
            return f"{label}: authentication as {self.user!r} failed ({one_line(exc)}); tried {tried}"
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            reasons = sorted({one_line(e.strerror or e) for e in exc.errors.values()})
            return f"{label}: cannot connect ({'; '.join(reasons)})"
        if isinstance(exc, socket.gaierror):
            return f"{label}: cannot resolve {self.address} ({exc.strerror})"
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return f"{label}: no answer within {self.connect_timeout:g}s (connect timeout)"
        if isinstance(exc, EOFError):
            return f"{label}: the server closed the connection during the SSH handshake"
        if isinstance(exc, paramiko.SSHException):
            text = one_line(exc)
            if text.startswith(("No existing session", "Error reading SSH protocol banner")):
                # paramiko's words for "no SSH handshake before the timeout"
                return (f"{label}: no SSH handshake within {self.connect_timeout:g}s "
                        "(not an SSH server, or one too busy to answer)")
            return f"{label}: SSH error: {text}"
        if isinstance(exc, OSError):
            return f"{label}: cannot connect ({one_line(exc.strerror or exc)})"
        return f"{label}: cannot connect ({type(exc).__name__}: {one_line(exc)})"

    def open(self) -> None:
        """Connect now, so that a host that cannot be reached is told apart from later failures."""
        self.connect()

    def close(self) -> None:
        with self._connect_lock:
            try:
                self._conn.close()
            finally:
                self.abort()
