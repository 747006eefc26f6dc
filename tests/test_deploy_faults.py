"""Bad input and faults of a deploy (issue 9), against the real deploy: the demo in git, real
PostgreSQL and Redis, a real supervisord running the app as the unprivileged user, real HTTP.

Each case: one clear line per host naming the problem, exit status 2 for bad input refused before
anything connects and 1 otherwise, and nothing half-done (tests/deploy_checks.py: ``current`` is a
whole release, the lock can be taken, no temp name left, the app answers 200 where it did before).

One story in order on the world of tests/deploy_faults_world.py (shared with test_deploy_kill.py,
which goes on from where this module leaves the hosts): web1's first release comes from a dirty
tree, and stays live through every fault.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from conftest import git
from deploy_checks import (
    assert_clean_failure,
    assert_no_secrets,
    assert_whole,
    current,
    get,
    host_line,
    releases,
    state,
    undo_commit,
    web,
)
from deploy_process import Started, wait_for_file

pytest_plugins = ["deploy_faults_world"]
pytestmark = pytest.mark.xdist_group("deploy-faults")


@pytest.fixture
def world(faults_world):
    return faults_world


def applied_migrations(world) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(dbname=world.database, host="127.0.0.1", user="postgres") as conn:
        return conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()


def tree(path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# --- bad input, refused before anything connects -----------------------------------------------


def test_a_ref_that_does_not_exist_is_one_line_before_connecting(world):
    before = tree(web(world, 1).deploy_to)
    run = world.deploy("--ref", "no-such-branch")
    assert_clean_failure(run, 2)
    assert run.stderr == f"error: no-such-branch: no such branch, tag or commit in {world.project}\n"
    assert "connect" not in run.output and run.stdout == ""
    assert tree(web(world, 1).deploy_to) == before


def test_a_commit_that_is_not_pushed_is_one_line_before_connecting(world):
    before = tree(web(world, 1).deploy_to)
    sha = world.commit("not pushed", {"NOTES": "local only\n"}, push=False)
    try:
        for args, named in (((), "main"), (("--ref", sha), sha)):
            run = world.deploy(*args)
            assert_clean_failure(run, 2)
            assert run.stderr == (f"error: {named} ({sha[:7]}) is not pushed: push it first (git push) "
                                  "or name a pushed ref\n")
            assert "connect" not in run.output and run.stdout == ""
    finally:
        git(world.project, "reset", "-q", "--hard", "HEAD~1")
    assert tree(web(world, 1).deploy_to) == before


# --- the first release, from a dirty tree -----------------------------------------------------------


def test_a_dirty_tree_deploys_the_committed_tree(world):
    host = web(world, 1)
    urls = world.project / "backend" / "config" / "urls.py"
    committed = urls.read_text()
    urls.write_text(committed.replace('"status": "ok"', '"status": "uncommitted"'))
    (world.project / "backend" / "UNTRACKED.txt").write_text("never deployed\n")
    try:
        run = world.deploy("-l", "web1")
        assert run.returncode == 0, run.output[-4000:]
        assert_no_secrets(run.stdout, run.stderr)
        assert "uncommitted changes" in run.stderr and "not deployed" in run.stderr
        assert git(world.project, "status", "--porcelain") != "", "the working copy was left alone"
    finally:
        git(world.project, "checkout", "--", "backend/config/urls.py")
        (world.project / "backend" / "UNTRACKED.txt").unlink()
    rid = assert_whole(host)
    release = host.deploy_to / "releases" / rid
    assert (release / "backend" / "config" / "urls.py").read_text() == committed
    assert not (release / "backend" / "UNTRACKED.txt").exists()
    assert get(host).json()["status"] == "ok"
    assert releases(host) == [rid] and releases(web(world, 2)) == []


# --- a rollback with nowhere to go -------------------------------------------------------------------


def test_a_rollback_with_no_previous_release_changes_nothing(world):
    host = web(world, 1)
    before = state(host)
    run = world.tool("rollback", "--release", "-l", "web1")
    assert_clean_failure(run, 1)
    assert "web1: failed: no previous good release to roll back to\n" in run.stdout
    assert state(host) == before
    assert_whole(host)


# --- two deploys at once --------------------------------------------------------------------------


def test_a_second_deploy_fails_at_once_naming_the_holder(world, tmp_path):
    host = web(world, 1)
    before = assert_whole(host)
    pause = tmp_path / "pause"
    pause.mkdir()
    os.mkfifo(pause / "release")
    # the first deploy stops once the new release's record is written (under the lock, before the switch)
    first = Started(world, tmp_path / "first", "-l", "web1",
                    env={"REMEDIATION_TEST_PAUSE": f"renamed:.release.json:{pause}"})
    try:
        wait_for_file(pause / "reached", first)
        started = time.monotonic()
        second = world.deploy("-l", "web1", timeout=120)
        seconds = time.monotonic() - started
        # the first is paused until this test lets it go: a second deploy that waited would never return
        assert first.proc.poll() is None
        assert_clean_failure(second, 1)
        status, line = host_line(second.stdout, "web1")
        assert status == "failed"
        assert line.startswith(f"lock: {host.deploy_to}: another run holds the lock (deploy, pid {first.pid} on "
                               f"{os.uname().nodename} since "), line
        assert line.endswith("); try again when it has finished")
        assert second.stdout.rstrip().endswith("another deploy holds the lock: nothing was done")
        print(f"\nthe second deploy gave up in {seconds:.1f}s")
        assert current(host) == before, "the paused deploy has not switched"
    finally:
        with open(pause / "release", "wb"):
            pass
    assert first.wait(600) == 0, first.output()[-4000:]
    assert_no_secrets(first.output())
    assert current(host) != before
    assert_whole(host)


# --- a migration that fails on the real database after its rehearsal passed -----------------------


FAILS_FOR_REAL = '''from django.db import migrations


def forward(apps, schema_editor):
    # dbrestore's scratch databases are named <name>_rehearsal_<hex>: the rehearsal passes
    if "rehearsal" not in schema_editor.connection.settings_dict["NAME"]:
        raise RuntimeError("planted failure: this migration fails on the real database only")


class Migration(migrations.Migration):
    dependencies = [("materials", "0101_material_remark")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
'''

ADD_REMARK = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("materials", "0001_initial")]
    operations = [migrations.AddField("material", "remark", models.TextField(null=True, blank=True))]
'''


def test_a_migration_that_fails_for_real_is_named_and_the_database_restored(world):
    host = web(world, 1)
    before, listed = assert_whole(host), releases(host)
    rows = applied_migrations(world)
    world.commit("a migration that fails on the real database", {
        "backend/materials/migrations/0101_material_remark.py": ADD_REMARK,
        "backend/materials/migrations/0102_fails_for_real.py": FAILS_FOR_REAL})
    try:
        run = world.deploy("-l", "web1")
    finally:
        undo_commit(world)
    assert_clean_failure(run, 1)
    status, line = host_line(run.stdout, "web1")
    assert status == "failed"
    assert line.startswith("migrate: migration materials.0102_fails_for_real failed: RuntimeError: planted failure: "
                           "this migration fails on the real database only; database restored from the backup "
                           "(verified: "), line
    assert "stopped before any switch" in run.stdout
    assert "rehearse: ok" in run.stderr, "the rehearsal passed before the real run"
    assert applied_migrations(world) == rows, "0101 (applied before 0102 failed) was undone by the restore"
    assert current(host) == before
    [placed] = sorted(set(releases(host)) - set(listed))
    assert state(host)["releases"][placed]["status"] == "failed", "placed, never live: marked failed"
    assert_whole(host)


# --- a health URL that answers 500 ------------------------------------------------------------------


def test_a_health_url_that_answers_500_is_rolled_back_and_never_a_rollback_target(world):
    host = web(world, 1)
    before = assert_whole(host)
    urls = (world.project / "backend" / "config" / "urls.py").read_text()
    world.commit("the health view raises", {"backend/config/urls.py": urls.replace(
        "def health(request):\n", "def health(request):\n    raise RuntimeError('planted: health fails')\n")})
    try:
        run = world.deploy("-l", "web1")
    finally:
        undo_commit(world)
    assert_clean_failure(run, 1)
    status, line = host_line(run.stdout, "web1")
    assert status == "rolled back"
    assert line.startswith("health: ") and f"rolled back to {before}" in line, line
    assert "500" in line, line
    assert current(host) == before
    assert_whole(host)
    listing = world.tool("releases", "--format", "json", "-l", "web1")
    assert_no_secrets(listing.stdout, listing.stderr)
    listed = json.loads(listing.stdout)["web1"]
    new = listed[0]
    assert new["state"] == "failed" and new["id"] not in (before,)
    assert [r["state"] for r in listed if r["id"] == before] == ["current"]
    assert all(r["state"] != "previous" for r in listed if r["status"] != "ok")
    refused = world.tool("rollback", "--release", new["id"], "-l", "web1")
    assert_clean_failure(refused, 1)
    assert (f"web1: failed: release {new['id']} is failed (never live and healthy); it is never a rollback "
            "target\n") in refused.stdout
    assert current(host) == before
    assert_whole(host)
