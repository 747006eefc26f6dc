"""Bad input and faults of a deploy (issue 9), against the real deploy: the demo in git, real
PostgreSQL and Redis, a real supervisord running the app as the unprivileged user, real HTTP.

Each case: one clear line per host naming the problem, exit status 2 for bad input refused before
anything connects and 1 otherwise, and nothing half-done (tests/deploy_checks.py: ``current`` is a
whole release, the lock can be taken, no temp name left, the app answers 200 where it did before).

One world per module (building the venv costs ~30 s, once), one story in order: web1 is deployed
once and stays live; web2 never gets a release (its env file is the fault of the preflight case).
The kill -9 trials come last (their machinery is in tests/deploy_checks.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
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
    leftovers,
    releases,
    scratch_databases,
    state,
)
from deploy_process import Started, kill_trial, timeline, wait_for_file
from deploy_world import cleanup_tree, drop_role, make_world, world_root
from sshd import ssh_client_key, ssh_hosts  # noqa: F401  (fixtures)

pytestmark = pytest.mark.xdist_group("deploy-faults")


@pytest.fixture(scope="module")
def world(demo_python):
    import demo_venv
    import psycopg

    name = f"deploy_faults_{int(time.time() * 1000) % 10**9}"
    admin = psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    made = make_world(world_root("faults"), name, str(demo_venv.wheel_cache()))
    made.add_host("web1")
    made.add_host("web2")
    try:
        yield made
    finally:
        made.close()
        for database in [name, *scratch_databases(name)]:  # and what killed deploys left
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        drop_role(made.role)
        admin.close()
        cleanup_tree(made.root)


def web(world, number: int):
    return world.hosts[number - 1]


def undo_commit(world) -> None:
    git(world.project, "reset", "-q", "--hard", "HEAD~1")
    git(world.project, "push", "-q", "-f", "origin", "main")


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
    assert "web1: failed: web1: no previous good release to roll back to\n" in run.stdout
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
    assert (f"web1: failed: web1: release {new['id']} is failed (never live and healthy); it is never a rollback "
            "target\n") in refused.stdout
    assert current(host) == before
    assert_whole(host)


# --- disk full during the upload --------------------------------------------------------------------


def tmpfs(folder, size: str = "64k") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")


def test_disk_full_during_the_upload_is_one_line_per_host_and_leaves_nothing(world, ssh_hosts):  # noqa: F811
    """Real full file systems: 64 KiB tmpfs mounts where the 160 KiB release goes, beside DEPLOY_TO
    (the disk check, of DEPLOY_TO's file system, passes). web1 (local): DEPLOY_TO/.deploy, where the
    tar is copied (ENOSPC); ssh1: the same over SFTP (which says only "Failure"); ssh2: releases/,
    where the tar is unpacked (tar: "Wrote only N of M bytes")."""
    one = web(world, 1)
    before, states = assert_whole(one), state(one)
    sshd = ssh_hosts(2)
    remote = [world.add_host(f"ssh{n}", ssh=host) for n, host in enumerate(sshd, 1)]
    full = [one.deploy_to / ".deploy", remote[0].deploy_to / ".deploy", remote[1].deploy_to / "releases"]
    mounted = []
    try:
        for folder in full:
            tmpfs(folder)
            mounted.append(folder)
        run = world.deploy("-l", "web1,ssh1,ssh2")
        assert_clean_failure(run, 1)
        for host, folder, what in zip([one, *remote], full, ["upload of", "upload of", "unpacking"]):
            status, line = host_line(run.stdout, host.name)
            assert status == "failed"
            assert re.fullmatch(rf"upload: {what} the release failed: No space left on device \(\d+ KiB free in "
                                rf"{re.escape(str(folder))}, \d+ KiB needed\)( \(tar: .*\))?", line), line
        assert "stopped before any change: 3 of 3 host(s) failed the preflight" in run.stdout
        assert [sorted(p.name for p in folder.iterdir()) for folder in full] == [[], [], []], "nothing partial left"
    finally:
        for folder in mounted:
            subprocess.run(["umount", str(folder)], check=True)
        for host in remote:
            world.hosts.remove(host)
            host.stop()
        world.write_inventory()
    assert state(one) == states and current(one) == before and leftovers(one) == []
    assert_whole(one)
    for host in remote:
        assert releases(host) == [] and leftovers(host) == []
        assert_whole(host, serving=False)


# --- a host that fails the preflight in a fleet ------------------------------------------------------


def test_a_host_that_fails_preflight_stops_the_fleet_before_any_change(world):
    one, two = web(world, 1), web(world, 2)
    before = assert_whole(one)
    states = state(one), state(two)
    env = two.deploy_to / "shared" / ".env"
    env.chmod(0o644)
    run = world.deploy()
    assert_clean_failure(run, 1)
    assert host_line(run.stdout, "web2") == (
        "failed", f"env: {env} is readable by others (mode 0644): chmod 600 it, owned by remediation-app")
    assert host_line(run.stdout, "web1")[0] == "ok"
    assert "stopped before any change: 1 of 2 host(s) failed the preflight" in run.stdout
    assert (state(one), state(two)) == states
    assert_whole(one)
    assert_whole(two, serving=False)
    assert current(one) == before


def test_with_max_fail_percentage_50_the_other_host_is_deployed(world, tmp_path):
    one, two = web(world, 1), web(world, 2)
    before = assert_whole(one)
    env = two.deploy_to / "shared" / ".env"
    saved = env.read_bytes()
    env.unlink()
    try:
        started = Started(world, tmp_path, "--max-fail-percentage", "50")
        REFERENCE["web1"] = timeline(started, "web1")  # web1's steps, timed: where the kill trials aim
        run = started.result()
    finally:
        env.write_bytes(saved)
        env.chmod(0o600)
    assert_clean_failure(run, 1)
    missing = f"env: no production env file at {env}: put it there (invoke fix-prod writes one), mode 0600, owned by "
    assert host_line(run.stdout, "web2") == ("failed", missing + "remediation-app")
    assert host_line(run.stdout, "web1") == ("changed", "")
    assert current(one) != before
    assert_whole(one)
    assert releases(two) == [] and current(two) is None
    assert_whole(two, serving=False)


# --- kill -9 of the deploying process at random points ------------------------------------------------

TRIALS = 20
REFERENCE: dict[str, list] = {}  # a full deploy's steps on web1: (step, start, seconds)
LEFT: dict[str, list] = {}


def test_kill_9_at_random_points_leaves_a_whole_release_and_a_free_lock(world, tmp_path):
    """20 deploys of web1, each killed with SIGKILL at a random moment. Each trial takes one step of
    a full deploy (every step once, in a random order, then steps at random), waits for the deploy
    to start it and kills it at a random moment of that step's duration in the reference deploy
    (the rehearsal: once its scratch database exists). After each: the lock is free at once, then
    ``current`` is a whole release and the app answers; at the end the next deploy completes.
    REMEDIATION_KILL_SEED=<seed> replays a run. The deploy is ``python -m invoke`` (in-process)."""
    import random

    host = web(world, 1)
    assert_whole(host)
    seed = int(os.environ.get("REMEDIATION_KILL_SEED") or time.time_ns() % 10**6)
    print(f"\nkill -9 trials: REMEDIATION_KILL_SEED={seed}")
    if "web1" not in REFERENCE:  # run alone: time a deploy here
        started = Started(world, tmp_path / "reference", "-l", "web1")
        REFERENCE["web1"] = timeline(started, "web1")
        assert started.wait() == 0, started.output()[-3000:]
    *steps, (_, _, last) = REFERENCE["web1"]  # a kill inside cleanup (milliseconds) is one at health's end
    steps[-1] = (*steps[-1][:2], steps[-1][2] + last)
    rng = random.Random(seed)
    targets = rng.sample(steps, min(TRIALS, len(steps))) + rng.choices(steps, k=max(0, TRIALS - len(steps)))
    started = time.monotonic()
    for number, (step, _, seconds) in enumerate(targets):
        offset = rng.uniform(0, seconds)
        known = set(scratch_databases(world.database))
        until = (lambda known=known: set(scratch_databases(world.database)) - known) if step == "rehearse" else None
        for attempt in range(3):  # a deploy that ends before its kill is no trial: again, earlier
            trial = kill_trial(world, host, step, offset, tmp_path / f"trial-{number}-{attempt}", until)
            if trial["killed"]:
                break
            assert trial["exit"] == 0, f"seed {seed} trial {number}: {trial['output'][-3000:]}"
            offset /= 4
        where = f"seed {seed} trial {number} ({step} + {offset:.2f}s)"
        assert trial["killed"], f"{where}: the deploy always ended before its kill"
        assert trial["lock_free"], f"{where}: the lock was held after the kill"
        assert_no_secrets(trial["output"])
        print(f"trial {number:2d}: {step:<14} +{offset:5.2f}s: killed at {trial['at']:5.1f}s in {trial['step'][:26]:<26} "
              f"current={trial['current']}; its children ran {trial['lingered']:4.1f}s more; "
              f"left {trial['left'] or 'nothing'}; programs stopped: {trial['stopped'] or 'none'}")
    final = world.deploy("-l", "web1")
    assert final.returncode == 0, f"seed {seed}: {final.output[-4000:]}"
    assert_no_secrets(final.stdout, final.stderr)
    assert "removed what a killed run left" in final.output or not trial["left"]
    assert_whole(host)
    LEFT["scratch"] = scratch_databases(world.database)
    print(f"{TRIALS} trials and the final deploy: {time.monotonic() - started:.1f}s")


@pytest.mark.xfail(strict=True, reason="a deploy killed in its rehearsal leaves the scratch database "
                   "<name>_rehearsal_<hex> (dropped only by the dead process's finally); nothing drops it later")
def test_a_deploy_killed_in_its_rehearsal_leaves_no_scratch_database(world):
    if "scratch" not in LEFT:
        pytest.skip("the kill -9 trials did not run to their end")
    assert LEFT["scratch"] == []
