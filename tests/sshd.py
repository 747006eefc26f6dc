"""Real OpenSSH servers as test hosts.

Each ``SshdHost`` is a real ``/usr/sbin/sshd -D`` on its own loopback address (127.0.0.2,
127.0.0.3, ...: Linux routes all of 127/8 to ``lo``) and a free port, with a freshly generated
ed25519 host key, its own ``sshd_config``, an ``authorized_keys`` holding the session's client
key, and its own log file (``-E``, LogLevel VERBOSE). Logins are as the current user (root in
CI). By default the hosts are hermetic: sessions get ``HOME`` set to an empty folder of the
host's own and this process's ``PATH`` (sshd ``SetEnv``), so the login shell does not source the
real ``~/.bashrc`` (a ``pyenv init`` there costs ~150 ms per command and, when a session is killed
during its ``pyenv rehash``, leaves a lock that stalls every later shell for 60 s), and ``python3``
on the "remote" is the interpreter running the tests. ``hermetic=False`` gives the real login
environment. ``accepted()`` counts "Accepted publickey" lines in the log: the proof of how many SSH
connections a run really opened.

Fixtures (import them into a test module, or list this module in ``pytest_plugins``):

- ``ssh_host``: one running host;
- ``ssh_hosts``: a factory, ``ssh_hosts(3)`` -> three running hosts;
- ``ssh_client_key``: the client key authorized on every host (session-wide).

Without sshd (or without the rights to run it) a test is skipped on a laptop, and fails under
CI (``CI=true``), since ``.ci/run`` installs openssh-server.

By hand::

    with sshd_hosts(2, Path("/tmp/x")) as (web1, web2):
        print(web1.address, web1.port, web1.known_hosts_line)
"""

from __future__ import annotations

import contextlib
import getpass
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = os.environ.get("REMEDIATION_TEST_SSHD", "/usr/sbin/sshd")  # absolute: sshd re-execs itself
SSH_KEYGEN = "ssh-keygen"
PRIVSEP_DIR = Path("/run/sshd")
START_TIMEOUT = 10.0


# What a ProxyCommand runs: copy stdin to the socket and the socket to stdout, until either closes.
RELAY = """import os, socket, sys, threading
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while True:
    data = sock.recv(65536)
    if not data:
        break
    os.write(1, data)
"""


class SshdUnavailable(Exception):
    """sshd is missing, or could not be started here."""


def unavailable(reason: str):
    """Under CI a missing sshd is a failure (CI must not skip); on a laptop, a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"sshd test hosts are not available ({reason}), and CI must not skip: "
                    ".ci/run installs openssh-server")
    pytest.skip(f"sshd test hosts are not available: {reason}")


def keygen(path: Path, comment: str) -> None:
    """A new ed25519 key pair at ``path`` and ``path.pub`` (replacing any old one)."""
    for old in (path, path.with_name(path.name + ".pub")):
        old.unlink(missing_ok=True)
    try:
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                       check=True, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise SshdUnavailable("ssh-keygen is not installed") from None
    except subprocess.CalledProcessError as exc:
        raise SshdUnavailable(f"ssh-keygen failed: {exc.stderr.strip()}") from None


def fingerprint(public_key: Path) -> str:
    """SHA256:... exactly as ``ssh-keygen -lf`` prints it."""
    done = subprocess.run([SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(public_key)],
                          check=True, capture_output=True, text=True, timeout=30)
    return done.stdout.split()[1]


def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


@dataclass
class SshdHost:
    """One sshd on ``address:port``; ``start()``/``stop()``/``restart()`` it."""

    name: str
    address: str
    directory: Path
    client_key: Path
    port: int = 0
    user: str = field(default_factory=getpass.getuser)
    extra_config: str = ""
    env: dict = field(default_factory=dict)
    hermetic: bool = True
    process: subprocess.Popen | None = None

    def __post_init__(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.address)
        self.host_key = self.directory / "ssh_host_ed25519_key"
        self.config = self.directory / "sshd_config"
        self.log = self.directory / "sshd.log"
        self.pid_file = self.directory / "sshd.pid"
        self.authorized_keys = self.directory / "authorized_keys"
        self.new_host_key()

    # --- what tests use -----------------------------------------------------------------

    @property
    def host_public_key(self) -> str:
        """``ssh-ed25519 AAAA...`` (without the comment)."""
        kind, blob = (self.host_key.with_name(self.host_key.name + ".pub")).read_text().split()[:2]
        return f"{kind} {blob}"

    @property
    def host_key_fingerprint(self) -> str:
        return fingerprint(self.host_key.with_name(self.host_key.name + ".pub"))

    @property
    def known_hosts_name(self) -> str:
        """How OpenSSH (and paramiko) name this host in known_hosts: ``[addr]:port`` unless port 22."""
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"

    @property
    def known_hosts_line(self) -> str:
        return f"{self.known_hosts_name} {self.host_public_key}"

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def accepted(self) -> int:
        """How many logins this sshd has accepted (one per SSH connection)."""
        return self.log_text().count("Accepted publickey")

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes below the listener (each calls setsid, so not its group)."""
        if self.process is None:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def drop_connections(self) -> None:
        """Kill every open connection (the listener stays): a network failure mid-run."""
        for pid in self.session_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def ssh_config_entry(self, alias: str | None = None) -> str:
        """A ``Host`` block for an ssh_config file naming this host."""
        return (f"Host {alias or self.name}\n    HostName {self.address}\n    Port {self.port}\n"
                f"    User {self.user}\n    IdentityFile {self.client_key}\n")

    def proxy_command(self) -> str:
        """An ssh_config ``ProxyCommand`` reaching this host through a relay process (stdin/stdout
        to its socket), so a config may give the host any name and port: nothing is resolved."""
        relay = self.directory / "relay.py"
        relay.write_text(RELAY)
        return f"{sys.executable} {relay} {self.address} {self.port}"

    # --- life cycle -----------------------------------------------------------------------

    def new_host_key(self) -> None:
        """Generate a fresh host key (takes effect at the next start)."""
        keygen(self.host_key, f"{self.name}-host")

    def write_config(self) -> None:
        client_pub = self.client_key.with_name(self.client_key.name + ".pub").read_text()
        self.authorized_keys.write_text(client_pub)
        self.authorized_keys.chmod(0o600)
        env = {}
        if self.hermetic:
            home = self.directory / "home"
            home.mkdir(exist_ok=True)
            env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")}
        env.update(self.env)
        # sshd honours only the first SetEnv line, so every variable goes on this one.
        set_env = ("SetEnv " + " ".join(f'"{k}={v}"' for k, v in env.items())) if env else ""
        self.config.write_text(
            f"""# test host {self.name}
ListenAddress {self.address}:{self.port}
HostKey {self.host_key}
PidFile {self.pid_file}
AuthorizedKeysFile {self.authorized_keys}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
PrintMotd no
LogLevel VERBOSE
MaxStartups 100:30:200
Subsystem sftp internal-sftp
{set_env}
{self.extra_config}
"""
        )

    def start(self) -> "SshdHost":
        if not os.path.exists(SSHD):
            raise SshdUnavailable(f"{SSHD} is not installed (apt-get install openssh-server)")
        if not PRIVSEP_DIR.is_dir():
            try:
                PRIVSEP_DIR.mkdir(mode=0o755, parents=True)
            except OSError as exc:
                raise SshdUnavailable(f"cannot create the privilege separation dir {PRIVSEP_DIR}: {exc}") from None
        self.write_config()
        self.pid_file.unlink(missing_ok=True)
        self.process = subprocess.Popen([SSHD, "-D", "-f", str(self.config), "-E", str(self.log)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace").strip()
                log_tail = " | ".join(self.log_text().strip().splitlines()[-3:])
                self.process = None
                raise SshdUnavailable(f"sshd for {self.name} exited at once: {err or log_tail or 'no output'}")
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5) as sock:
                    sock.settimeout(2)
                    if sock.recv(64).startswith(b"SSH-"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SshdUnavailable(f"sshd for {self.name} did not answer on {self.address}:{self.port} "
                                      f"within {START_TIMEOUT:g}s")
            time.sleep(0.02)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stderr:
            process.stderr.close()

    def restart(self, new_host_key: bool = False) -> "SshdHost":
        """Stop, optionally replace the host key (a "changed host key"), start again on the same port."""
        self.stop()
        if new_host_key:
            self.new_host_key()
        return self.start()


_session_counter = itertools.count()


@contextlib.contextmanager
def sshd_hosts(n: int, base: Path, client_key: Path | None = None, extra_config: str = "",
               env: dict | None = None, hermetic: bool = True):
    """Start ``n`` sshd hosts (web1 on 127.0.0.2, web2 on 127.0.0.3, ...) below ``base``; stop them after."""
    base.mkdir(parents=True, exist_ok=True)
    if client_key is None:
        client_key = base / "client_ed25519"
        keygen(client_key, "remediation-test-client")
    hosts: list[SshdHost] = []
    try:
        for index in range(n):
            host = SshdHost(f"web{index + 1}", f"127.0.0.{index + 2}", base / f"web{index + 1}",
                            client_key, extra_config=extra_config, env=dict(env or {}), hermetic=hermetic)
            hosts.append(host)
            host.start()
        yield hosts
    finally:
        for host in hosts:
            host.stop()


# --- pytest fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ssh_client_key(tmp_path_factory) -> Path:
    """A client key pair (``path`` and ``path.pub``) authorized on every test host."""
    key = tmp_path_factory.mktemp("ssh-client") / "client_ed25519"
    try:
        keygen(key, "remediation-test-client")
    except SshdUnavailable as exc:
        unavailable(str(exc))
    return key


@pytest.fixture
def ssh_hosts(tmp_path, ssh_client_key):
    """Factory: ``ssh_hosts(n, extra_config="", env=None, hermetic=True)`` -> n running hosts,
    stopped after the test. ``env``: variables every session gets (sshd SetEnv)."""
    stack = contextlib.ExitStack()
    groups = itertools.count()

    def start(n: int = 1, extra_config: str = "", env: dict | None = None, hermetic: bool = True) -> list[SshdHost]:
        try:
            return stack.enter_context(
                sshd_hosts(n, tmp_path / f"sshd-{next(groups)}", ssh_client_key, extra_config, env, hermetic))
        except SshdUnavailable as exc:
            unavailable(str(exc))

    with stack:
        yield start


@pytest.fixture
def ssh_host(ssh_hosts) -> SshdHost:
    """One running sshd host (``web1`` on 127.0.0.2)."""
    return ssh_hosts(1)[0]
