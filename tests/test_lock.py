"""One run at a time per project (remediation/lock.py): real concurrent fix-prod runs, a holder
killed with SIGKILL, and a remote holder whose SSH connection dies.

A run is held inside its migrate step by a ``--python`` wrapper that waits for a gate file, so the
second run starts while the first one certainly holds the lock (no sleep decides it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, invoke, tree_digest
from gates import gated_python

from remediation.lock import LockHeld, project_lock
from remediation.ssh import Ssh
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401  (fixtures)

DOMAIN = "thebot.example.com"
HOST = socket.gethostname()


@pytest.fixture
def demo(lenient_demo):
    """fix-prod on the demo's SQLite without a PostgreSQL URL: the lenient demo (the bundled demo's
    settings refuse SQLite in production, so fix-prod stops there, by design)."""
    return lenient_demo


def start_fix_prod(project: Path, python: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "invoke", "fix-prod", "--project", str(project), "--domain", DOMAIN,
                             "--python", str(python), "--format", "json"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def duplicate_migrations(project: Path) -> list:
    with sqlite3.connect(project / "backend" / "db.sqlite3") as conn:
        return conn.execute("SELECT app, name, COUNT(*) FROM django_migrations GROUP BY app, name "
                            "HAVING COUNT(*) > 1").fetchall()


def held_message(project: Path, run: str, pid: int) -> str:
    return f"{project.resolve()}: another run holds the lock ({run}, pid {pid} on {HOST} since "


def test_second_fix_prod_and_rollback_fail_at_once_naming_the_holder(demo, tmp_path):
    gate = gated_python(tmp_path)
    first = start_fix_prod(demo, gate.python)
    try:
        gate.wait(first)
        before = tree_digest(demo)
        second = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--format", "json")
        assert second.returncode == 2, second.output
        assert second.stderr.startswith("error: " + held_message(demo, "fix-prod", first.pid)), second.stderr
        assert second.stdout == ""
        rollback = invoke("rollback", "--project", str(demo), "--database")
        assert rollback.returncode == 2, rollback.output
        assert rollback.stderr.startswith("error: " + held_message(demo, "fix-prod", first.pid)), rollback.stderr
        assert tree_digest(demo) == before, "the refused runs wrote nothing"
    finally:
        gate.go.touch()
        out, err = first.communicate(timeout=300)
    assert first.returncode == 1, err  # external credentials still need a person
    fixes = {f["name"]: f["status"] for f in json.loads(out)["hosts"][0]["fixes"]}
    assert fixes["migrate"] == "changed" and fixes["secret_key"] == "changed"
    assert duplicate_migrations(demo) == []
    assert not (demo / ".remediation" / "lock").exists(), "a finished run leaves no lock file"
    third = invoke("rollback", "--project", str(demo))
    assert third.returncode == 0, third.output


def test_check_mode_takes_no_lock_and_writes_nothing(demo, tmp_path):
    gate = gated_python(tmp_path)
    first = start_fix_prod(demo, gate.python)
    try:
        gate.wait(first)
        before = tree_digest(demo)
        check = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--check", "--format", "json")
        assert check.returncode == 1, check.output
        assert "holds the lock" not in check.output
        assert tree_digest(demo) == before
    finally:
        gate.go.touch()
        first.communicate(timeout=300)


def test_a_holder_killed_with_sigkill_frees_the_lock(demo, tmp_path):
    gate = gated_python(tmp_path)
    first = start_fix_prod(demo, gate.python, start_new_session=True)
    gate.wait(first)
    os.killpg(first.pid, signal.SIGKILL)  # the run and its gated migrate, inside the locked window
    first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    stale = json.loads((demo / ".remediation" / "lock").read_text())
    assert stale["pid"] == first.pid, "the file stays, naming the dead run: it is not the lock"
    second = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--format", "json", timeout=300)
    assert second.returncode == 1, second.output
    assert "holds the lock" not in second.output
    fixes = {f["name"]: f["status"] for f in json.loads(second.stdout)["hosts"][0]["fixes"]}
    assert fixes["migrate"] == "changed"
    assert duplicate_migrations(demo) == []
    assert not (demo / ".remediation" / "lock").exists()


# --- on a remote host: the lock lives as long as the SSH channel --------------------------------

HOLDER = """
import sys
from remediation.lock import project_lock
from remediation.ssh import Ssh
name, address, port, key, known, config, project = sys.argv[1:]
ssh = Ssh(name, address, port=int(port), key_file=key, known_hosts=known, ssh_config=config)
with project_lock(ssh, project, "fix-prod"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def remote(ssh_host, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(ssh_host.known_hosts_line + "\n")
    config = tmp_path / "ssh_config"
    config.write_text("")
    project = tmp_path / "project"
    project.mkdir()
    args = [ssh_host.name, ssh_host.address, str(ssh_host.port), str(ssh_host.client_key), str(known), str(config)]

    def connect() -> Ssh:
        return Ssh(ssh_host.name, ssh_host.address, port=ssh_host.port, key_file=str(ssh_host.client_key),
                   known_hosts=str(known), ssh_config=str(config))

    def hold() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, *args, str(project)], cwd=REPO, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        assert line == "held\n", proc.stderr.read()
        return proc

    return ssh_host, project, connect, hold


def lock_freed_within(connect, project: Path, timeout: float = 30) -> bool:
    """Try the lock until it is free (the far side notices a dead connection asynchronously)."""
    deadline = time.monotonic() + timeout
    with connect() as ssh:
        while time.monotonic() < deadline:
            try:
                with project_lock(ssh, str(project), "rollback"):
                    return True
            except LockHeld:
                time.sleep(0.1)
    return False


@pytest.mark.parametrize("how", ["holder killed with SIGKILL", "connection dropped by the network"])
def test_remote_lock_is_refused_while_held_and_freed_when_the_connection_dies(remote, how):
    host, project, connect, hold = remote
    holder = hold()
    try:
        with connect() as ssh:
            with pytest.raises(LockHeld) as refused:
                with project_lock(ssh, str(project), "rollback"):
                    pass
        assert str(refused.value).startswith(f"{project}: another run holds the lock (fix-prod, pid {holder.pid} "
                                             f"on {HOST} since ")
        if how == "holder killed with SIGKILL":
            holder.kill()
        else:
            host.drop_connections()
        assert lock_freed_within(connect, project)
        assert not (project / ".remediation").exists(), "released: no lock file, no state folder made for it"
    finally:
        holder.kill()
        holder.communicate(timeout=30)


def test_fleet_fix_prod_on_a_locked_project_fails_that_host_naming_the_holder(remote, tmp_path):
    host, project, connect, hold = remote
    (project / "manage.py").write_text("")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"hosts": {host.name: {
        "address": host.address, "port": host.port, "user": host.user, "key": str(host.client_key),
        "project": str(project), "python": sys.executable, "domains": [DOMAIN]}}}))
    holder = hold()
    try:
        run = invoke("fix-prod", "-i", str(inventory), "--known-hosts", str(tmp_path / "known_hosts"), "--format", "json")
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    document = json.loads(run.stdout)
    assert run.returncode == 1, run.output
    entry = document["hosts"][0]
    assert entry["status"] == "failed"
    assert entry["error"].startswith(f"{project}: another run holds the lock (fix-prod, pid {holder.pid} on {HOST} since ")
