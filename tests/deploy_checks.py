"""What "nothing half-done" means on a deploy host, checked from the outside after a fault
(tests/test_deploy_faults.py): ``current`` names a whole release (its record and a complete venv),
the lock can be taken (an flock through remediation/lockfile.py, as the next deploy takes it), no
temp release, tar or symlink is left, the app answers 200, supervisord's programs, no scratch
database left. Also: the recap's line for a host, the planted secrets in any encoding.
"""

from __future__ import annotations

import json
import os
import subprocess
from urllib.parse import quote

import httpx
from conftest import git
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


def assert_whole(host, serving: bool = True, temps_allowed: bool = False, lock_checked: bool = False) -> str | None:
    """``current`` is a whole release, the lock is free, nothing temporary is left, the app serves."""
    rid = current(host)
    if rid is not None:
        release = host.deploy_to / "releases" / rid
        assert (release / ".release.json").is_file(), f"current -> {rid}, which has no record"
        assert record(host, rid)["id"] == rid
        venv = release / ".venv"
        assert venv.is_symlink() and (venv / ".complete").is_file(), f"current -> {rid}, whose venv is not complete"
        assert not rid.startswith(TEMP)
    for name in releases(host):  # the records keep the reasons of failures: masked too
        path = host.deploy_to / "releases" / name / ".release.json"
        assert_no_secrets(path.read_text() if path.is_file() else "")
    assert lock_checked or lock_is_free(host), f"{host.name}: the deploy lock is still held"
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


def programs(host) -> dict[str, str]:
    """supervisord's programs on the host: name -> state (RUNNING, STOPPED, ...)."""
    done = subprocess.run(["supervisorctl", "-c", str(host.conf), "status"], capture_output=True, text=True, timeout=60,
                          check=False)
    return {line.split()[0]: line.split()[1] for line in done.stdout.splitlines() if len(line.split()) > 1}


def scratch_databases(database: str) -> list[str]:
    """Scratch copies dbrestore makes beside the database (``<name>_rehearsal_<hex>``, ``_restore_``, ``_old_``)."""
    import psycopg

    with psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres") as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                            (database[:36].replace("_", r"\_") + r"\_%",)).fetchall()
    return sorted(name for (name,) in rows)


# --- the fault tests' world (tests/deploy_faults_world.py) ---------------------------------------


def web(world, number: int):
    return world.hosts[number - 1]


def ensure_live(world) -> None:
    """web1 has a live release (a module run on its own deploys it first)."""
    if current(web(world, 1)) is None:
        run = world.deploy("-l", "web1")
        assert run.returncode == 0, run.output[-4000:]


def undo_commit(world) -> None:
    git(world.project, "reset", "-q", "--hard", "HEAD~1")
    git(world.project, "push", "-q", "-f", "origin", "main")
