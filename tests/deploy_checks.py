"""What "nothing half-done" means on a deploy host, checked from the outside after a fault
(tests/test_deploy_faults.py): ``current`` names a whole release (its record and a complete venv),
the lock can be taken (an flock through remediation/lockfile.py, as the next deploy takes it), no
temp release, tar or symlink is left, and the app answers 200. Also: the recap's line for a host,
the planted secrets in any encoding, and a deploy started as a process a test can kill.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from conftest import REPO
from deploy_world import DOMAIN, SECRETS

from remediation import lockfile

HEADERS = {"Host": DOMAIN, "X-Forwarded-Proto": "https", "Connection": "close"}
TEMP = ".tmp-"


def get(host, path: str = "/api/health/") -> httpx.Response:
    return httpx.get(host.url(path), headers=HEADERS, timeout=10)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for value in SECRETS.values():
            for form in {value, quote(value, safe=""), json.dumps(value)[1:-1]}:
                assert form not in text, f"a planted secret ({form[:12]}...) leaked"


def current(host) -> str | None:
    link = host.deploy_to / "current"
    return os.readlink(link).rstrip("/").rsplit("/", 1)[-1] if link.is_symlink() else None


def releases(host) -> list[str]:
    folder = host.deploy_to / "releases"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def record(host, rid: str) -> dict:
    return json.loads((host.deploy_to / "releases" / rid / ".release.json").read_text())


def state(host) -> dict:
    """What a user could see change: the releases, their records, ``current``, the venvs."""
    venvs = host.deploy_to / "venvs"
    return {"current": current(host), "releases": {rid: record_or_none(host, rid) for rid in releases(host)},
            "venvs": sorted(p.name for p in venvs.iterdir()) if venvs.is_dir() else []}


def record_or_none(host, rid: str) -> dict | None:
    try:
        return record(host, rid)
    except (OSError, ValueError):
        return None


def lock_is_free(host) -> bool:
    """Take the deploy lock as the next deploy would (an flock on DEPLOY_TO/.deploy/lock), then let go."""
    path = str(host.deploy_to / ".deploy" / "lock")
    fd, made = lockfile.acquire(path, {"run": "test", "pid": os.getpid(), "host": "test", "since": "now"})
    if fd is None:
        return False
    lockfile.release(fd, path, made)
    return True


def leftovers(host) -> list[str]:
    """Temp names a deploy uses on its way: half releases, uploaded tars, a new ``current`` link."""
    found = [f"releases/{name}" for name in releases(host) if name.startswith(TEMP)]
    state_dir = host.deploy_to / ".deploy"
    if state_dir.is_dir():
        found += [f".deploy/{p.name}" for p in state_dir.iterdir() if p.name.startswith(TEMP)]
    found += [p.name for p in host.deploy_to.iterdir() if p.name.startswith("current.")]
    return sorted(found)


def assert_whole(host, serving: bool = True, temps_allowed: bool = False) -> str | None:
    """``current`` is a whole release, the lock is free, nothing temporary is left, the app serves."""
    rid = current(host)
    if rid is not None:
        release = host.deploy_to / "releases" / rid
        assert (release / ".release.json").is_file(), f"current -> {rid}, which has no record"
        assert record(host, rid)["id"] == rid
        venv = release / ".venv"
        assert venv.is_symlink() and (venv / ".complete").is_file(), f"current -> {rid}, whose venv is not complete"
        assert not rid.startswith(TEMP)
    assert lock_is_free(host), f"{host.name}: the deploy lock is still held"
    if not temps_allowed:
        assert leftovers(host) == [], f"{host.name}: left behind: {leftovers(host)}"
    if serving:
        answer = get(host)
        assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text[:300]
    return rid


def host_line(output: str, name: str) -> tuple[str, str]:
    """(status, error line) of ``name`` in a deploy recap: ``web1 : failed  steps=..`` then the
    error, indented, on the next line (empty when the host has none)."""
    lines = output.splitlines()
    for number, line in enumerate(lines):
        words = line.split()
        if len(words) > 2 and words[0] == name and words[1] == ":" and "steps=" in line:
            status = line.split(":", 1)[1].split("steps=")[0].strip()
            after = lines[number + 1] if number + 1 < len(lines) else ""
            return status, after.strip() if after.startswith(" ") else ""
    raise AssertionError(f"no recap line for {name} in:\n{output[-3000:]}")


def assert_clean_failure(run, status: int) -> None:
    assert run.returncode == status, run.output[-4000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    assert_no_secrets(run.stdout, run.stderr)


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

    def last_step(self) -> str:
        """The last step line the deploy printed (``[web1] upload``), or what it did before any."""
        steps = [line for line in self.err.read_text().splitlines() if line.startswith("[")]
        return steps[-1] if steps else "(before the first step)"

    def session(self) -> list[int]:
        """Processes still in the deploy's session (children a kill -9 of the deploy left running)."""
        done = subprocess.run(["ps", "-o", "pid=", "-s", str(self.pid)], capture_output=True, text=True)
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
