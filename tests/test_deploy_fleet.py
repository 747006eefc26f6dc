"""A deploy over SSH to a fleet of two real sshd hosts (127.0.0.2 and .3), each with its own
DEPLOY_TO, supervisord and app port, sharing one PostgreSQL database and one Redis: the gate on
both at once, migrations run once (on the first host), Celery beat on exactly one host, batches of
``--serial 1``, health checked on each."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from deploy_world import DOMAIN, SECRETS, cleanup_tree, drop_role, make_world, world_root
from sshd import SshdUnavailable, sshd_hosts, unavailable

pytestmark = pytest.mark.xdist_group("deploy-fleet")


@pytest.fixture(scope="module")
def fleet(demo_python):
    import psycopg

    import demo_venv

    name = f"deploy_fleet_{int(time.time() * 1000) % 10**9}"
    admin = psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    world = make_world(world_root("fleet"), name, str(demo_venv.wheel_cache()))
    try:
        with sshd_hosts(2, world.root / "sshd") as hosts:
            for ssh in hosts:
                world.add_host(ssh.name, ssh=ssh)
            yield world
    except SshdUnavailable as exc:
        unavailable(str(exc))
    finally:
        world.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        drop_role(world.role)
        admin.close()
        cleanup_tree(world.root)


def steps(host_report) -> dict:
    return {s["step"]: s for s in host_report["steps"]}


def test_fleet_deploy_migrates_once_runs_beat_once_and_serves_everywhere(fleet):
    run = fleet.deploy("--serial", "1", "--format", "json")
    assert run.returncode == 0, run.output
    for value in SECRETS.values():
        assert value not in run.output
    report = json.loads(run.stdout)
    web1, web2 = report["hosts"]
    assert (web1["status"], web2["status"]) == ("changed", "changed")
    assert report["migrate_host"] == "web1" and report["beat_host"] == "web1"
    assert "migrate" in steps(web1) and steps(web1)["migrate"]["detail"].startswith("applied ")
    assert "migrate" not in steps(web2) and "backup" not in steps(web2)
    assert "batch 1: web1" in run.stderr and "batch 2: web2" in run.stderr
    for host in fleet.hosts:
        answer = httpx.get(host.url(), headers={"Host": DOMAIN, "X-Forwarded-Proto": "https"}, timeout=10)
        assert answer.status_code == 200
    confs = {h.name: (h.conf.parent / "conf.d" / "thebot.conf").read_text() for h in fleet.hosts}
    assert "[program:thebot-beat]" in confs["web1"] and "[program:thebot-beat]" not in confs["web2"]
    assert "[program:thebot-worker]" in confs["web1"] and "[program:thebot-worker]" in confs["web2"]
    release = report["release"]
    for host in fleet.hosts:
        assert (host.deploy_to / "current").resolve().name == release


def test_a_host_failing_preflight_stops_the_fleet_before_any_change(fleet):
    web1, web2 = fleet.hosts
    before = [(h.deploy_to / "current").resolve().name for h in fleet.hosts]
    env = web2.deploy_to / "shared" / ".env"
    env.chmod(0o644)
    try:
        fleet.commit("a change", {"CHANGELOG": "one more\n"})
        run = fleet.deploy()
        assert run.returncode == 1, run.output
        assert "web2" in run.output and "mode 0644" in run.output
        assert "stopped before any change: 1 of 2 host(s) failed the preflight" in run.output
        assert [(h.deploy_to / "current").resolve().name for h in fleet.hosts] == before
        assert not list((web1.deploy_to / "releases").glob(".tmp-*"))
        allowed = fleet.deploy("--max-fail-percentage", "50", "--format", "json")
        report = json.loads(allowed.stdout)
        assert allowed.returncode == 1  # not every host got the release
        assert [h["status"] for h in report["hosts"]] == ["changed", "failed"]
        assert (web1.deploy_to / "current").resolve().name == report["release"]
        assert (web2.deploy_to / "current").resolve().name == before[1]
    finally:
        env.chmod(0o600)


def test_two_limited_deploys_never_migrate_the_shared_database_at_once(fleet, tmp_path):
    """``-l web1`` and ``-l web2`` each hold only their own host's lock and pick their own migrating
    host: the database's migration lock (a PostgreSQL advisory lock) is what keeps them apart."""
    import os

    from deploy_process import Started, wait_for_file

    fleet.commit("another change", {"CHANGELOG": "two at once\n"})
    before = [(h.deploy_to / "current").resolve().name for h in fleet.hosts]
    pause = tmp_path / "pause"
    pause.mkdir()
    os.mkfifo(pause / "release")
    first = Started(fleet, tmp_path / "first", "-l", "web1", env={"REMEDIATION_TEST_PAUSE": f"dblock:held:{pause}"})
    try:
        wait_for_file(pause / "reached", first)  # the first holds the migration lock, before its backup
        second = fleet.deploy("-l", "web2", "--format", "json")
        assert first.proc.poll() is None, "the first deploy is paused until this test lets it go"
        assert second.returncode == 1, second.output
        report = json.loads(second.stdout)
        assert report["migrate_host"] == "web2"
        (web2,) = report["hosts"]
        lock = steps(web2)["migration lock"]
        assert lock["status"] == "failed"
        assert lock["detail"].startswith(f"another deploy is migrating database {fleet.database} (remediation deploy "
                                         f"pid {first.pid} on {os.uname().nodename}, since "), lock["detail"]
        assert "backup" not in steps(web2) and "migrate" not in steps(web2)
        assert [(h.deploy_to / "current").resolve().name for h in fleet.hosts] == before
    finally:
        with open(pause / "release", "wb"):
            pass
    assert first.wait(600) == 0, first.output()[-4000:]
    for value in SECRETS.values():
        assert value not in first.output() and value not in second.output
    assert (fleet.hosts[0].deploy_to / "current").resolve().name != before[0]
    after = fleet.deploy("-l", "web2")  # the lock died with the first deploy's session
    assert after.returncode == 0, after.output
