"""``Ssh`` against real OpenSSH servers (tests/sshd.py): commands, files, host keys, failures.

The "remote" hosts are sshd processes on this machine, so what a test writes through SSH it
checks directly on disk, and each sshd's log tells how many logins a run really made.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest

from remediation.ssh import HostKeyError, Ssh, key_fingerprint
from remediation.transport import Local, TransportError
from sshd import keygen, ssh_client_key, ssh_host, ssh_hosts  # noqa: F401  (fixtures)


@pytest.fixture
def empty_ssh_config(tmp_path) -> str:
    """An empty ssh_config: tests see neither ~/.ssh/config nor /etc/ssh/ssh_config."""
    path = tmp_path / "ssh_config"
    path.write_text("")
    return str(path)


@pytest.fixture
def known_hosts(tmp_path) -> Path:
    return tmp_path / "known_hosts"


def trusted(host, known_hosts: Path) -> Path:
    with known_hosts.open("a") as handle:
        handle.write(host.known_hosts_line + "\n")
    return known_hosts


def connect(host, known_hosts: Path, ssh_config: str, **options) -> Ssh:
    options.setdefault("key_file", str(host.client_key))
    return Ssh(host.name, host.address, port=host.port, known_hosts=str(known_hosts), ssh_config=ssh_config, **options)


@pytest.fixture
def web1(ssh_host, known_hosts, empty_ssh_config):
    """An ``Ssh`` to a trusted host (its key already in known_hosts), closed afterwards."""
    ssh = connect(ssh_host, trusted(ssh_host, known_hosts), empty_ssh_config)
    yield ssh
    ssh.close()


def no_temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# --- commands ---------------------------------------------------------------------------------


def test_run_and_stdin_round_trip(web1):
    result = web1.run(["echo", "hello", "two words"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "hello two words\n", "")

    text = "ünïcode ✓ line\n" * 20000  # > 400 kB, multi-byte characters across every chunk boundary
    assert web1.run(["cat"], input=text).stdout == text
    failing = web1.run(["sh", "-c", "echo oops >&2; exit 3"])
    assert (failing.returncode, failing.stderr) == (3, "oops\n")
    assert web1.run(["sh", "-c", "exit 127"]).returncode == 127  # the program's own 127 is a result
    assert web1.run(["pwd"], cwd="/etc").stdout == "/etc\n"


def test_env_travels_over_stdin_not_the_command_line(web1):
    secret = "s3cret value 'with' $quotes"
    script = 'cat /proc/$$/cmdline /proc/$PPID/cmdline; echo; printf "%s|" "$TOKEN"; pwd; cat'
    result = web1.run(["sh", "-c", script], env={"TOKEN": secret}, cwd="/tmp", input="stdin intact\n")
    command_lines, rest = result.stdout.split("\n", 1)
    assert secret not in command_lines and "s3cret" not in command_lines
    assert rest == f"{secret}|/tmp\nstdin intact\n"


def test_missing_program_directory_and_timeout(web1, tmp_path):
    (tmp_path / "data.txt").write_text("not a program\n")
    for argv, options, message in [
        (["no-such-program-xyz"], {}, "no-such-program-xyz: no such program"),
        (["/nonexistent/bin/tool"], {}, "/nonexistent/bin/tool: no such program"),
        (["no-such-program-xyz"], {"env": {"A": "1"}}, "no-such-program-xyz: no such program"),
        ([str(tmp_path / "data.txt")], {}, f"{tmp_path / 'data.txt'}: not executable"),
        (["pwd"], {"cwd": "/nonexistent-dir"}, "/nonexistent-dir: no such directory"),
    ]:
        with pytest.raises(TransportError) as caught:
            web1.run(argv, **options)
        assert str(caught.value) == message
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"^sleep: no answer within 0.5s$"):
        web1.run(["sleep", "10"], timeout=0.5)
    assert time.monotonic() - started < 3
    assert web1.run(["true"]).returncode == 0  # the connection survives a timed-out command


def test_run_probe_over_ssh_matches_local(web1, demo):
    config = {"manage_dir": str(demo / "backend"), "env": {}, "packages": ["Django"], "timeout": 3}
    remote = web1.run_probe(sys.executable, config)
    local = Local().run_probe(sys.executable, config)
    assert remote["error"] is None
    for key in ("probe_version", "settings_module", "django", "packages", "migrations"):
        assert remote[key] == local[key], key
    def ids(document):
        return sorted((m["id"], m["level"]) for m in document["checks"]["messages"])

    assert ids(remote) == ids(local)


# --- files ------------------------------------------------------------------------------------


def test_write_atomic_read_text_and_modes(web1, tmp_path):
    target = tmp_path / "app" / ".env"
    web1.makedirs(str(target.parent))
    assert target.parent.is_dir() and oct(target.parent.stat().st_mode & 0o777) == oct(0o700)
    assert web1.read_text(str(target)) is None and web1.file_mode(str(target)) is None

    web1.write_atomic(str(target), "SECRET_KEY=abc\nDEBUG=0\n", 0o600)
    assert target.read_text() == "SECRET_KEY=abc\nDEBUG=0\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert web1.read_text(str(target)) == "SECRET_KEY=abc\nDEBUG=0\n"
    assert web1.file_mode(str(target)) == 0o600

    target.chmod(0o640)
    inode = target.stat().st_ino
    web1.write_atomic(str(target), "ünï\n")  # no mode: the existing one is kept
    assert target.read_text() == "ünï\n" and target.stat().st_mode & 0o777 == 0o640
    assert target.stat().st_ino != inode  # replaced by rename, not rewritten in place

    if os.getuid() == 0:  # an existing file keeps its owner (a .env owned by the app user stays readable)
        os.chown(target, 65534, 65534)
        web1.write_atomic(str(target), "ünï\n", 0o640)
        assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)

    web1.copy(str(target), str(tmp_path / "app" / "backup"))
    assert (tmp_path / "app" / "backup").read_text() == "ünï\n"
    assert (tmp_path / "app" / "backup").stat().st_mode & 0o777 == 0o640
    web1.remove(str(tmp_path / "app" / "backup"))
    web1.remove(str(tmp_path / "app" / "backup"))  # absent: fine, like Local
    assert not (tmp_path / "app" / "backup").exists()
    web1.makedirs(str(target.parent))  # exists: fine
    assert no_temp_files(target.parent) == []


def test_failed_writes_leave_no_temp_file(web1, tmp_path):
    folder = tmp_path / "site"
    (folder / "settings.py").mkdir(parents=True)  # the target is a folder: the rename must fail
    with pytest.raises(OSError) as caught:
        web1.write_atomic(str(folder / "settings.py"), "DEBUG = False\n", 0o644)
    assert caught.value.strerror
    assert no_temp_files(folder) == [] and sorted(p.name for p in folder.iterdir()) == ["settings.py"]

    with pytest.raises(FileNotFoundError):
        web1.write_atomic(str(tmp_path / "missing" / "x.env"), "A=1\n", 0o600)
    assert not (tmp_path / "missing").exists()

    with pytest.raises(OSError):
        web1.copy(str(tmp_path / "absent"), str(tmp_path / "copy"))
    (tmp_path / "afile").write_text("")
    with pytest.raises(OSError):
        web1.makedirs(str(tmp_path / "afile" / "sub"))


def test_one_connection_for_a_whole_run(ssh_host, web1, tmp_path):
    for number in range(5):
        web1.run(["true"])
        web1.write_atomic(str(tmp_path / f"f{number}"), "x", 0o600)
        web1.read_text(str(tmp_path / f"f{number}"))
        web1.file_mode(str(tmp_path / f"f{number}"))
    with ThreadPoolExecutor(4) as pool:  # facts.py runs the probe and other commands in parallel
        outputs = list(pool.map(lambda n: web1.run(["echo", str(n)]).stdout, range(12)))
    assert outputs == [f"{n}\n" for n in range(12)]
    web1.run_probe(sys.executable, {"manage_dir": str(tmp_path), "env": {}, "packages": [], "timeout": 1})
    assert ssh_host.accepted() == 1


def test_lost_connection_is_one_error_and_the_next_call_reconnects(ssh_host, web1, tmp_path):
    web1.write_atomic(str(tmp_path / "before"), "x", 0o600)  # an SFTP session is open too
    threading.Timer(0.5, ssh_host.drop_connections).start()
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        web1.run(["sleep", "6"], timeout=5)
    assert str(caught.value) == f"web1 ({ssh_host.address}:{ssh_host.port}): lost the connection while running sleep"
    assert time.monotonic() - started < 5
    assert web1.run(["echo", "back"]).stdout == "back\n"
    assert web1.read_text(str(tmp_path / "before")) == "x"
    assert ssh_host.accepted() == 2


# --- host keys --------------------------------------------------------------------------------


def test_unknown_host_key_is_refused_before_anything_runs(ssh_host, known_hosts, empty_ssh_config, tmp_path):
    marker = tmp_path / "must-not-exist"
    ssh = connect(ssh_host, known_hosts, empty_ssh_config)
    with pytest.raises(TransportError) as caught:
        ssh.run(["touch", str(marker)])
    message = str(caught.value)
    assert message.startswith(f"web1 ({ssh_host.address}:{ssh_host.port}): unknown host key ssh-ed25519 "
                              f"{ssh_host.host_key_fingerprint} ")
    assert "--accept-new-host-keys" in message and "\n" not in message
    assert not marker.exists()
    assert ssh_host.accepted() == 0 and "Starting session" not in ssh_host.log_text()
    assert not known_hosts.exists()
    ssh.close()


def test_accept_new_records_the_key_then_strict_mode_trusts_it(ssh_host, known_hosts, empty_ssh_config):
    known_hosts.write_text("# my hosts\n[other.example]:22 ssh-ed25519 "
                           "AAAAC3NzaC1lZDI1NTE5AAAAIEnHO4S2tYrX/wr8xRzeBo1WcpfCuzYpSjd/QM4vLdbU")  # no final newline
    with connect(ssh_host, known_hosts, empty_ssh_config, accept_new_host_keys=True) as ssh:
        assert ssh.run(["echo", "first"]).stdout == "first\n"
    recorded = paramiko.HostKeys(str(known_hosts)).lookup(ssh_host.known_hosts_name)
    assert key_fingerprint(recorded["ssh-ed25519"]) == ssh_host.host_key_fingerprint
    assert known_hosts.read_text().startswith("# my hosts\n[other.example]:22 ssh-ed25519 AAAA")
    assert len(known_hosts.read_text().splitlines()) == 3
    with connect(ssh_host, known_hosts, empty_ssh_config) as ssh:  # strict again
        assert ssh.run(["echo", "second"]).stdout == "second\n"
    assert len(known_hosts.read_text().splitlines()) == 3


def test_changed_host_key_is_refused_even_with_accept_new(ssh_host, known_hosts, empty_ssh_config):
    trusted(ssh_host, known_hosts)
    old = ssh_host.host_key_fingerprint
    ssh_host.restart(new_host_key=True)
    before = known_hosts.read_text()
    for accept_new in (False, True):
        ssh = connect(ssh_host, known_hosts, empty_ssh_config, accept_new_host_keys=accept_new)
        with pytest.raises(TransportError) as caught:
            ssh.run(["true"])
        message = str(caught.value)
        assert message.startswith(f"web1 ({ssh_host.address}:{ssh_host.port}): host key CHANGED "
                                  f"(offered ssh-ed25519 {ssh_host.host_key_fingerprint}, known ssh-ed25519 {old}")
        assert "refusing to connect" in message and "\n" not in message
        ssh.close()
    assert known_hosts.read_text() == before
    assert ssh_host.accepted() == 0


def test_revoked_key_is_refused(ssh_host, known_hosts, empty_ssh_config):
    trusted(ssh_host, known_hosts)
    with known_hosts.open("a") as handle:
        handle.write(f"@revoked * {ssh_host.host_public_key}\n")
    with pytest.raises(TransportError, match="REVOKED"):
        connect(ssh_host, known_hosts, empty_ssh_config).run(["true"])
    assert "Starting session" not in ssh_host.log_text()


def test_parallel_hosts_share_one_known_hosts_file(ssh_hosts, known_hosts, empty_ssh_config):
    hosts = ssh_hosts(4)

    def first_contact(host):
        with connect(host, known_hosts, empty_ssh_config, accept_new_host_keys=True) as ssh:
            return ssh.run(["echo", host.name]).stdout.strip()

    with ThreadPoolExecutor(len(hosts)) as pool:
        assert list(pool.map(first_contact, hosts)) == [h.name for h in hosts]
    keys = paramiko.HostKeys(str(known_hosts))
    for host in hosts:
        assert key_fingerprint(keys.lookup(host.known_hosts_name)["ssh-ed25519"]) == host.host_key_fingerprint
    assert len(known_hosts.read_text().splitlines()) == len(hosts)


# --- connection failures ----------------------------------------------------------------------


def test_unreachable_and_silent_hosts_fail_fast_in_one_line(known_hosts, empty_ssh_config):
    with socket.socket() as probe:
        probe.bind(("127.0.0.9", 0))
        closed_port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        Ssh("db1", "127.0.0.9", port=closed_port, known_hosts=str(known_hosts), ssh_config=empty_ssh_config,
            connect_timeout=2).run(["true"])
    assert str(caught.value).startswith(f"db1 (127.0.0.9:{closed_port}): cannot connect (")
    assert "refused" in str(caught.value).lower() and "\n" not in str(caught.value)
    assert time.monotonic() - started < 2

    with socket.socket() as silent:  # accepts TCP, never says a word of SSH
        silent.bind(("127.0.0.9", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            Ssh("db1", "127.0.0.9", port=port, known_hosts=str(known_hosts), ssh_config=empty_ssh_config,
                connect_timeout=1).run(["true"])
    assert str(caught.value) == (f"db1 (127.0.0.9:{port}): no SSH handshake within 1s "
                                 "(not an SSH server, or one too busy to answer)")
    assert time.monotonic() - started < 4


def test_wrong_client_key_is_a_clear_error(ssh_host, known_hosts, empty_ssh_config, tmp_path):
    from sshd import keygen

    stranger = tmp_path / "stranger_ed25519"
    keygen(stranger, "stranger")
    ssh = connect(ssh_host, trusted(ssh_host, known_hosts), empty_ssh_config, key_file=str(stranger))
    with pytest.raises(TransportError) as caught:
        ssh.run(["true"])
    message = str(caught.value)
    assert message.startswith(f"web1 ({ssh_host.address}:{ssh_host.port}): authentication as ")
    assert str(stranger) in message and "\n" not in message
    assert ssh_host.accepted() == 0
    ssh.close()


# --- ssh_config: aliases and ProxyJump --------------------------------------------------------


def test_ssh_config_alias_and_proxyjump(ssh_hosts, known_hosts, tmp_path):
    jump, target = ssh_hosts(2)
    config = tmp_path / "ssh_config_jump"
    config.write_text(jump.ssh_config_entry("bastion") + target.ssh_config_entry("app")
                      + "    ProxyJump bastion\n")
    trusted(target, known_hosts)

    # The jump host's key is checked too: unknown -> refused, naming the jump host.
    with pytest.raises(TransportError) as caught:
        Ssh("app", known_hosts=str(known_hosts), ssh_config=str(config)).run(["true"])
    assert "via jump host" in str(caught.value) and jump.host_key_fingerprint in str(caught.value)
    assert jump.accepted() == 0 and target.accepted() == 0

    trusted(jump, known_hosts)
    with Ssh("app", known_hosts=str(known_hosts), ssh_config=str(config)) as ssh:
        assert (ssh.address, ssh.port) == (target.address, target.port)
        assert ssh.run(["echo", "through"]).stdout == "through\n"
        ssh.write_atomic(str(tmp_path / "via-jump"), "ok\n", 0o600)
    assert (tmp_path / "via-jump").read_text() == "ok\n"
    assert jump.accepted() == 1 and target.accepted() == 1  # one login on each: the run went through the jump


# --- become (sudo) ----------------------------------------------------------------------------

FAKE_SUDO = r"""#!/bin/sh
# A stand-in for sudo(8) that needs the password "hunter2" (the real one needs a non-root user).
ask=no
while [ $# -gt 0 ]; do
    case "$1" in
        -n|-k) shift ;;
        -S) ask=yes; shift ;;
        -p) shift 2 ;;
        --) shift; break ;;
        *) break ;;
    esac
done
if [ "$ask" = no ]; then echo "sudo: a password is required" >&2; exit 1; fi
IFS= read -r password
if [ "$password" != hunter2 ]; then echo "sudo: 1 incorrect password attempt" >&2; exit 1; fi
exec "$@"
"""


def test_become_sends_the_sudo_password_over_stdin(ssh_hosts, known_hosts, empty_ssh_config, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sudo").write_text(FAKE_SUDO)
    (bin_dir / "sudo").chmod(0o755)
    (host,) = ssh_hosts(1, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    trusted(host, known_hosts)

    with connect(host, known_hosts, empty_ssh_config, sudo_password="hunter2") as ssh:
        result = ssh.run(["sh", "-c", 'cat; echo "[$SECRET]"'], input="payload\n", env={"SECRET": "x"}, become=True)
        assert result.stdout == "payload\n[x]\n" and "hunter2" not in result.stdout + result.stderr
        assert ssh.run(["cat"], input="again\n", become=True).stdout == "again\n"
        assert ssh.run(["id", "-u"]).stdout.strip() == str(os.getuid())  # become is per call
    with pytest.raises(TransportError, match="sudo refused the password"):
        connect(host, known_hosts, empty_ssh_config, sudo_password="wrong").run(["true"], become=True)
    with pytest.raises(TransportError, match="sudo needs a password"):
        connect(host, known_hosts, empty_ssh_config).run(["true"], become=True)


def test_become_with_real_sudo_as_root(web1):
    if shutil.which("sudo") is None or os.getuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the real sudo, as root, is missing, and CI must not skip: .ci/run installs sudo")
        pytest.skip("needs the real sudo, as root")
    assert web1.run(["id", "-u"], become=True).stdout == "0\n"
    assert web1.run(["cat"], input="x\n", become=True).stdout == "x\n"


# --- known_hosts patterns, as OpenSSH matches them ---------------------------------------------

PATTERN_LINES = {  # known_hosts line -> what OpenSSH's own ssh does with it (and so must we)
    "[{addr}]:* {key}": "accepted",
    "[{addr}*]:* {key}": "accepted",
    "[{prefix}.*]:{port} {key}": "accepted",
    "other.example,[{prefix}.?*]:* {key}": "accepted",
    "!{name},[{prefix}.*]:* {key}": "unknown",
    "[{prefix}.*]:*,!{name} {key}": "unknown",
    "[{prefix}.*]:* {other}": "changed",
    # Nothing under [host]:port: OpenSSH then accepts the same key under the bare name, only that.
    "{addr} {key}": "accepted",
    "127.0.0.* {key}": "accepted",
    "{addr} {other}": "unknown",
    "[{addr}]:{port} {other}\n{addr} {key}": "changed",
}


def openssh_accepts(host, known_hosts: Path) -> bool:
    """The real OpenSSH client, strict, with only this known_hosts file."""
    done = subprocess.run(["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                           "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                           "-o", "CheckHostIP=no", "-o", "IdentitiesOnly=yes", "-i", str(host.client_key),
                           "-p", str(host.port), f"{host.user}@{host.address}", "true"],
                          capture_output=True, text=True, timeout=60)
    return done.returncode == 0


@pytest.mark.parametrize("line", PATTERN_LINES)
def test_known_hosts_patterns_match_as_openssh_does(line, ssh_host, known_hosts, empty_ssh_config, tmp_path):
    keygen(tmp_path / "other_key", "other")
    other = " ".join((tmp_path / "other_key.pub").read_text().split()[:2])
    known_hosts.write_text(text := line.format(addr=ssh_host.address, prefix=ssh_host.address.rsplit(".", 1)[0],
                                       port=ssh_host.port, name=ssh_host.known_hosts_name,
                                       key=ssh_host.host_public_key, other=other) + "\n")
    expected = PATTERN_LINES[line]
    if shutil.which("ssh") is None and os.environ.get("CI") == "true":
        pytest.fail("OpenSSH's ssh client is missing, and CI must not skip the comparison: .ci/run installs it")
    if shutil.which("ssh"):
        assert openssh_accepts(ssh_host, known_hosts) == (expected == "accepted"), "the table disagrees with OpenSSH"
    ssh = connect(ssh_host, known_hosts, empty_ssh_config)
    try:
        if expected == "accepted":
            assert ssh.run(["echo", "in"]).stdout == "in\n"
        else:
            with pytest.raises(HostKeyError) as refused:
                ssh.run(["true"])
            assert ("unknown host key" if expected == "unknown" else "host key CHANGED") in str(refused.value)
    finally:
        ssh.close()
    assert known_hosts.read_text() == text, "strict mode records nothing"


def test_wildcard_domain_through_a_proxycommand(ssh_host, known_hosts, tmp_path):
    """``*.example.com`` lines, for a host reached by ProxyCommand under a name nothing resolves."""
    config = tmp_path / "ssh_config_proxy"
    config.write_text(f"Host web1.app.example.com\n    Port 22\n    User {ssh_host.user}\n"
                      f"    IdentityFile {ssh_host.client_key}\n    ProxyCommand {ssh_host.proxy_command()}\n")
    known_hosts.write_text(f"*.example.com {ssh_host.host_public_key}\n")
    with Ssh("web1.app.example.com", known_hosts=str(known_hosts), ssh_config=str(config)) as ssh:
        assert (ssh.address, ssh.port) == ("web1.app.example.com", 22)
        assert ssh.run(["echo", "proxied"]).stdout == "proxied\n"
    assert ssh_host.accepted() == 1
    known_hosts.write_text(f"!web1.app.example.com,*.example.com {ssh_host.host_public_key}\n")
    with pytest.raises(HostKeyError, match=r"^web1\.app\.example\.com:22: unknown host key ssh-ed25519 "):
        Ssh("web1.app.example.com", known_hosts=str(known_hosts), ssh_config=str(config)).run(["true"])
    assert ssh_host.accepted() == 1, "refused before logging in"


# --- where known keys come from, and who may add to them -----------------------------------------


def test_default_known_hosts_are_ssh_configs_files_else_home(ssh_host, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    first, second = tmp_path / "first_known_hosts", tmp_path / "second_known_hosts"
    second.write_text(ssh_host.known_hosts_line + "\n")
    config = tmp_path / "ssh_config_files"
    config.write_text(ssh_host.ssh_config_entry("app") + f"    UserKnownHostsFile {first} {second}\n")
    with Ssh("app", ssh_config=str(config)) as ssh:  # known in the second file of UserKnownHostsFile
        assert (ssh.known_hosts.path, ssh.known_hosts.extra) == (str(first), (str(second), "/etc/ssh/ssh_known_hosts"))
        assert ssh.run(["echo", "known"]).stdout == "known\n"
    assert not first.exists(), "strict: nothing recorded"

    plain = tmp_path / "ssh_config_plain"
    plain.write_text(ssh_host.ssh_config_entry("app"))
    with pytest.raises(HostKeyError, match=f"not in {home}/.ssh/known_hosts"):
        Ssh("app", ssh_config=str(plain)).run(["true"])
    with Ssh("app", ssh_config=str(plain), accept_new_host_keys=True) as ssh:  # trust on first use: into ~/.ssh
        assert ssh.run(["echo", "recorded"]).stdout == "recorded\n"
    assert (home / ".ssh" / "known_hosts").read_text() == ssh_host.known_hosts_line + "\n"
    with Ssh("app", ssh_config=str(plain)) as ssh:
        assert ssh.run(["echo", "strict"]).stdout == "strict\n"


FIRST_CONTACT = """
import sys, time
from pathlib import Path
from remediation.ssh import Ssh
name, address, port, key, known, config, gate = sys.argv[1:]
while not Path(gate).exists():
    time.sleep(0.01)
with Ssh(name, address, port=int(port), key_file=key, known_hosts=known, ssh_config=config,
         accept_new_host_keys=True) as ssh:
    print(ssh.run(["echo", name]).stdout.strip())
"""


def flock_waiters(path: Path) -> int:
    """Processes blocked in flock() on ``path`` (the ``->`` lines of /proc/locks)."""
    inode = path.stat().st_ino
    return sum(1 for line in Path("/proc/locks").read_text().splitlines()
               if "->" in line and "FLOCK" in line and line.split()[-3].rsplit(":", 1)[-1] == str(inode))


def test_processes_recording_host_keys_at_once_keep_every_key_once(ssh_hosts, known_hosts, empty_ssh_config, tmp_path):
    """The cross-process lock on known_hosts: while another process holds its flock, six first
    contacts (two per host) all wait for it and write nothing; released, each key lands once."""
    hosts = ssh_hosts(3)
    known_hosts.write_text("# kept\n")
    gate = tmp_path / "gate"
    with known_hosts.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        procs = [subprocess.Popen([sys.executable, "-c", FIRST_CONTACT, host.name, host.address, str(host.port),
                                   str(host.client_key), str(known_hosts), empty_ssh_config, str(gate)],
                                  cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for host in hosts for _ in range(2)]
        gate.touch()
        deadline = time.monotonic() + 120
        while flock_waiters(known_hosts) < len(procs):
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
            assert time.monotonic() < deadline, f"only {flock_waiters(known_hosts)} processes wait for the lock"
            time.sleep(0.05)
        assert known_hosts.read_text() == "# kept\n", "nobody wrote while the lock was held"
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [out for out, _ in outputs] == [f"{h.name}\n" for h in hosts for _ in range(2)], [e for _, e in outputs]
    lines = known_hosts.read_text().splitlines()
    assert lines[0] == "# kept"
    assert sorted(lines[1:]) == sorted(h.known_hosts_line for h in hosts), "each key exactly once, none lost"
