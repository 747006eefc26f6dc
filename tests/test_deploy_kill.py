"""Faults of a deploy on a fleet and of the deploying process (issue 9): a host that fails the
preflight, a disk that fills up during the upload, and ``kill -9`` of the deploy at random points.
Each: one clear line per host, exit 1, nothing half-done (tests/deploy_checks.py).

Goes on from where test_deploy_faults.py left the world of tests/deploy_faults_world.py (web1
live, web2 without a release); run alone, it deploys web1 first.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from deploy_checks import (
    assert_clean_failure,
    assert_no_secrets,
    assert_whole,
    current,
    ensure_live,
    host_line,
    leftovers,
    releases,
    scratch_databases,
    state,
    web,
)
from deploy_process import REFERENCE, Started, kill_trial, timeline
from sshd import ssh_client_key, ssh_hosts  # noqa: F401  (fixtures)

pytest_plugins = ["deploy_faults_world"]
pytestmark = pytest.mark.xdist_group("deploy-faults")


@pytest.fixture
def world(faults_world):
    ensure_live(faults_world)
    return faults_world


# --- disk full during the upload --------------------------------------------------------------------


def tmpfs(folder, size: str = "64k") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:  # CI runs as root in a machine that mounts: a skip there would hide the test
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(
            f"cannot mount a tmpfs here: {mounted.stderr.strip()}")


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
              f"left {trial['left'] or 'nothing'}; programs stopped: {trial['stopped'] or 'none'}"
              + (f"; the lock was free only once its children had exec'd ({trial['held_by']})" if trial["held_by"] else ""))
    final = world.deploy("-l", "web1")
    assert final.returncode == 0, f"seed {seed}: {final.output[-4000:]}"
    assert_no_secrets(final.stdout, final.stderr)
    assert "removed what a killed run left" in final.output or not trial["left"]
    assert_whole(host)
    LEFT["scratch"] = scratch_databases(world.database)
    bundles = sorted(p.name for p in (world.root / "controller-tmp").iterdir())
    print(f"the killed deploys left {len(bundles)} bundle folder(s) in the controller's TMPDIR: {bundles[:3]}...")
    print(f"{TRIALS} trials and the final deploy: {time.monotonic() - started:.1f}s")


def test_a_deploy_killed_in_its_rehearsal_leaves_no_scratch_database(world):
    """The dead process's ``finally`` never ran; the next deploy's rehearsal drops its copy."""
    if "scratch" not in LEFT:
        pytest.skip("the kill -9 trials did not run to their end")
    assert LEFT["scratch"] == []
