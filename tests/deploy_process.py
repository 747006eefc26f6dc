"""A deploy as a process a test can follow and kill (tests/test_deploy_faults.py): started in a
session of its own (what it started is found after it is killed), its output in files (never a pipe
a child could keep open), its steps timed from the plain lines it prints, and the kill -9 trial.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO
from deploy_checks import assert_whole, current, leftovers, lock_is_free, programs

REFERENCE: dict[str, list] = {}  # a full deploy's steps per host, timed: where the kill trials aim


def deploy_argv(world, *args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "deploy", "-i", str(world.inventory), "--project", str(world.project),
            "--frontend", "skip", "--known-hosts", str(world.known_hosts), *args]


class Started:
    """A deploy running as its own process (its own session, so the processes it started can be
    found after it is killed); output goes to files, never a pipe a child could keep open."""

    def __init__(self, world, folder: Path, *args: str, env: dict | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        self.out, self.err = folder / "stdout", folder / "stderr"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        environ.update(env or {})
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(deploy_argv(world, *args), cwd=REPO, env=environ, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float = 600) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def result(self, timeout: float = 600):
        """Like conftest's ``invoke``: the exit status and both outputs, once it has ended."""
        from conftest import Run

        code = self.wait(timeout)
        return Run(code, self.out.read_text(), self.err.read_text())

    def last_step(self) -> str:
        """The last step line the deploy printed (``[web1] upload``), or what it did before any."""
        steps = [line for line in self.err.read_text().splitlines() if line.startswith("[")]
        return steps[-1] if steps else "(before the first step)"

    def session(self, listing: bool = False) -> list:
        """Processes still in the deploy's session (children a kill -9 of the deploy left running):
        their pids, or with ``listing`` their ps lines (pid, state, command)."""
        done = subprocess.run(["ps", "-o", "pid=,stat=,args=" if listing else "pid=", "-s", str(self.pid)],
                              capture_output=True, text=True, check=False)
        if listing:
            return [" ".join(line.split())[:160] for line in done.stdout.splitlines() if line.strip()]
        return [int(pid) for pid in done.stdout.split()]

    def wait_session_empty(self, timeout: float = 180) -> float:
        start = time.monotonic()
        while self.session():
            assert time.monotonic() - start < timeout, f"processes of the killed deploy still run: {self.session()}"
            time.sleep(0.1)
        return time.monotonic() - start


def wait_for_file(path: Path, started: Started, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if started.proc.poll() is not None:
            raise AssertionError(f"the deploy ended ({started.proc.returncode}) before {path.name}:\n"
                                 f"{started.output()[-3000:]}")
        assert time.monotonic() < deadline, f"the deploy never reached {path.name}"
        time.sleep(0.05)
    return path.read_text()


def timeline(started: Started, host: str, timeout: float = 900) -> list[tuple[str, float, float]]:
    """Follow a deploy to its end: (step, seconds from the process start to the step's start line,
    seconds it lasted) for each step of ``host``; the first entry is "(start)", up to the first step."""
    seen, deadline = {}, time.monotonic() + timeout
    while True:
        ended = started.proc.poll() is not None
        for line in started.err.read_text().splitlines():
            if line.startswith(f"[{host}] ") and ": " not in line and line not in seen:
                seen[line] = time.monotonic() - started.started
        if ended:
            break
        assert time.monotonic() < deadline, "the deploy did not end"
        time.sleep(0.02)
    end = time.monotonic() - started.started
    names = [line.split("] ", 1)[1] for line in seen]
    times = list(seen.values())
    steps = [("(start)", 0.0, times[0] if times else end)]
    steps += [(name, at, (times[i + 1] if i + 1 < len(times) else end) - at) for i, (name, at) in enumerate(zip(names, times))]
    return steps


def kill_trial(world, host, step: str, offset: float, folder: Path, until=None) -> dict:
    """Start a deploy of ``host`` and kill -9 it ``offset`` seconds after it starts ``step`` (with
    ``until``: as soon as ``until()`` is true once the step started, instead); then
    check what it left: the lock free at once (before the processes it started have finished), and
    once they have: ``current`` a whole release, the app answering 200, and, when the kill came
    before the switch, the programs as they were. Returns what happened, for the trial table."""
    before, programs_before = current(host), programs(host)
    controller_tmp = world.root / "controller-tmp"  # where the deploy builds its bundle (TMPDIR)
    controller_tmp.mkdir(mode=0o1777, exist_ok=True)
    started = Started(world, folder, "-l", host.name, env={"TMPDIR": str(controller_tmp)})
    wanted = f"[{host.name}] {step}"
    while step != "(start)" and wanted not in started.err.read_text().splitlines():
        if started.proc.poll() is not None:
            return {"killed": False, "exit": started.proc.returncode, "output": started.output()}
        time.sleep(0.01)
    while until is not None and not until() and started.proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0 if until else offset)
    if started.proc.poll() is not None:
        return {"killed": False, "exit": started.proc.returncode, "output": started.output()}
    os.kill(started.pid, signal.SIGKILL)
    at = time.monotonic() - started.started
    assert started.wait(60) == -signal.SIGKILL
    free_at_once = lock_is_free(host)
    # not free at once: a child forked but not yet exec'd holds a copy of the lock's descriptor
    # (close-on-exec closes it at its exec); say which processes were left, then wait for them
    held_by = [] if free_at_once else started.session(listing=True)
    lingered = started.wait_session_empty()
    free_after = free_at_once or lock_is_free(host)
    rid = assert_whole(host, serving=True, temps_allowed=True, lock_checked=True)
    states = programs(host)
    if rid == before:
        assert states == programs_before, f"killed before the switch ({started.last_step()}), yet: {states}"
    return {"killed": True, "at": at, "step": started.last_step(), "lock_free": free_after, "held_by": held_by,
            "lingered": lingered,
            "current": "old" if rid == before else "new", "left": leftovers(host),
            "stopped": sorted(name for name, value in states.items() if value != "RUNNING"),
            "output": started.output()}
