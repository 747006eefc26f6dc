"""supervisord control: pick up the conf, roll the web processes, prove the new code runs.

supervisord holds the web socket (``[fcgi-program]``) and keeps it open while any process of the
group lives, so the two gunicorn masters are restarted one at a time, each only after the other
is up with its workers. A process that does not come up is stopped again (the other one keeps
serving the old release) and reported with the last lines of its log, secrets masked.
Everything goes through ``spec.supervisorctl`` on the transport.
"""

from __future__ import annotations

import posixpath
import re
import time
from concurrent.futures import ThreadPoolExecutor

from ..transport import TransportError
from . import procs
from .services import START_SECONDS, WEB_PROCESSES, WEB_STOP_SECONDS, WORKER_STOP_SECONDS, ServiceError

SECTION = re.compile(r"^\[(?:fcgi-)?program:([^\]\s]+)\]", re.M)
STATUS = re.compile(r"^(\S+)\s+([A-Z]+)\b(.*)$")
FAILED_STATES = {"BACKOFF", "EXITED", "FATAL", "STOPPED", "UNKNOWN"}
READY_SECONDS = 120  # after `start` returned: the master must have its workers by then


def ctl(transport, spec, *args: str, timeout: float = 60):
    return transport.run([*spec.supervisorctl, *args], timeout=timeout)


def _last(result) -> str:
    return (f"{result.stdout}\n{result.stderr}".strip().splitlines() or [f"exit {result.returncode}"])[-1].strip()


def pick_up(transport, spec, before: dict, changed: list[str]) -> list[str]:
    """``reread`` + ``update`` of this app's groups, only when its conf changed (other apps' pending
    changes and this app's unchanged programs are left alone)."""
    conf = posixpath.join(spec.supervisor_conf_dir, f"{spec.app}.conf")
    if conf not in changed:
        return []
    groups = sorted(set(SECTION.findall(before.get(conf) or "")) | set(SECTION.findall(transport.read_text(conf) or "")))
    for args in (("reread",), ("update", *groups)):
        result = ctl(transport, spec, *args, timeout=WORKER_STOP_SECONDS + 60)
        if result.returncode != 0 or "ERROR" in result.stdout:
            raise ServiceError(f"supervisorctl {args[0]}: {_last(result)}")
    return []


def web_processes(spec) -> list[str]:
    return [f"{spec.app}-web:{spec.app}-web_{number}" for number in range(WEB_PROCESSES)]


def single(spec, service: str) -> str:
    return f"{service}:{service}"


def states(transport, spec, names: list[str]) -> dict[str, tuple[str, int | None, str]]:
    """name -> (STATE, pid, supervisorctl's words); a name it does not report is UNKNOWN."""
    result = ctl(transport, spec, "status", *names)
    found = {}
    for line in result.stdout.splitlines():
        match = STATUS.match(line.strip())
        if match:
            pid = re.search(r"\bpid (\d+)", match.group(3))
            found[match.group(1)] = (match.group(2), int(pid.group(1)) if pid else None, match.group(3).strip(" ,"))
    if not found and result.returncode not in (0, 3):
        raise ServiceError(f"supervisorctl status: {_last(result)}")
    # a one-process group is reported by its plain name
    return {name: found.get(name) or found.get(name.split(":")[-1]) or ("UNKNOWN", None, "not reported") for name in names}


def _fail(transport, spec, name: str, why: str) -> str:
    """The reason with the process's last log lines (masked); the process is stopped so that it
    does not retry the broken release while the other one serves."""
    tail = ctl(transport, spec, "tail", "-4000", name, timeout=60)
    ctl(transport, spec, "stop", name, timeout=WEB_STOP_SECONDS + 30)
    log = procs.masked(transport, spec.env_file, procs.last_lines(tail.stdout)) if tail.returncode == 0 else ""
    return f"{name} {why}" + (f"; last log lines:\n{log}" if log else "")


def start_ready(transport, spec, name: str, release_dir: str, workers: int) -> tuple[int | None, str | None]:
    """Start ``name`` and wait until it is RUNNING with ``workers`` children, all in the release:
    (pid, None), or (None, why it failed)."""
    result = ctl(transport, spec, "start", name, timeout=START_SECONDS + 120)
    if result.returncode != 0 and "already started" not in result.stdout:
        return None, _fail(transport, spec, name, f"did not start ({_last(result)})")
    deadline = time.monotonic() + READY_SECONDS
    while True:
        state, pid, words = states(transport, spec, [name])[name]
        if state in FAILED_STATES:
            return None, _fail(transport, spec, name, f"did not stay up ({state} {words})".rstrip())
        if state == "RUNNING" and pid:
            found = procs.process_trees(transport, posixpath.join(release_dir, ".venv", "bin", "python"), [pid], release_dir)
            problems = procs.release_problems(found, {pid: workers})
            if not problems:
                return pid, None
            if time.monotonic() > deadline or not any("worker(s)" in problem for problem in problems):
                return None, _fail(transport, spec, name, "does not run the release: " + "; ".join(problems))
        elif time.monotonic() > deadline:
            return None, _fail(transport, spec, name, f"not RUNNING after {READY_SECONDS}s ({state})")
        time.sleep(0.2)


def _entry(service: str, started: float, why: str | None, status: str | None = None) -> dict:
    return {"service": service, "status": status or ("failed" if why else "ok"),
            "seconds": round(time.monotonic() - started, 2), "detail": why or ""}


def _restart_web(transport, spec, release_dir: str) -> str | None:
    """Stop and start one web process at a time; the ones not running first, so that the socket
    always has a live process behind it. Then every master and worker is checked again."""
    names = web_processes(spec)
    current = states(transport, spec, names)
    pids = []
    for name in sorted(names, key=lambda name: current[name][0] == "RUNNING"):
        stop = ctl(transport, spec, "stop", name, timeout=WEB_STOP_SECONDS + 30)
        if stop.returncode != 0 and "not running" not in stop.stdout:
            return f"{name} did not stop ({_last(stop)})"
        pid, why = start_ready(transport, spec, name, release_dir, spec.workers)
        if why:
            return why
        pids.append(pid)
    found = procs.process_trees(transport, posixpath.join(release_dir, ".venv", "bin", "python"), pids, release_dir)
    problems = procs.release_problems(found, {pid: spec.workers for pid in pids})
    return "; ".join(problems) or None


def _restart_single(transport, spec, service: str, release_dir: str) -> str | None:
    """TERM (Celery's warm shutdown: running tasks finish), then start and check."""
    name = single(spec, service)
    stop = ctl(transport, spec, "stop", name, timeout=WORKER_STOP_SECONDS + 60)
    if stop.returncode != 0 and "not running" not in stop.stdout:
        return f"{name} did not stop ({_last(stop)})"
    return start_ready(transport, spec, name, release_dir, 0)[1]


def restart(transport, spec, release_dir: str) -> list[dict]:
    """The web processes roll one at a time while the Celery worker (warm shutdown: its tasks
    finish) and beat restart beside them: none waits for another. A failure of any is reported;
    the caller rolls every service back to the previous release."""

    def one(service: str) -> dict:
        begun = time.monotonic()
        if service.endswith("-web"):
            return _entry(service, begun, _restart_web(transport, spec, release_dir))
        return _entry(service, begun, _restart_single(transport, spec, service, release_dir))

    with ThreadPoolExecutor(max_workers=len(spec.services)) as pool:
        return list(pool.map(one, spec.services))


def stop_start(transport, spec, release_dir: str) -> list[dict]:
    """Stop every program (the web socket closes with its last process), then start them."""
    names = [f"{spec.app}-web:*", *(single(spec, service) for service in spec.services[1:])]
    started = time.monotonic()
    stop = ctl(transport, spec, "stop", *names, timeout=WORKER_STOP_SECONDS + 60)
    if stop.returncode != 0 and "ERROR" in stop.stdout:
        return [_entry(service, started, f"stop failed ({_last(stop)})") for service in spec.services]
    results = []
    for service in spec.services:
        started = time.monotonic()
        targets = web_processes(spec) if service.endswith("-web") else [single(spec, service)]
        workers = spec.workers if service.endswith("-web") else 0
        why = next((why for why in (start_ready(transport, spec, name, release_dir, workers)[1] for name in targets) if why), None)
        results.append(_entry(service, started, why))
    return results


def status(transport, spec) -> dict:
    """``{"manager", "services": {service: [{"name", "state", "pid", "release", "words"}]}}``; the
    release is read from each process's working directory (None when it cannot be read)."""
    names = {service: (web_processes(spec) if service.endswith("-web") else [single(spec, service)]) for service in spec.services}
    found = states(transport, spec, [name for group in names.values() for name in group])
    pids = [pid for state, pid, _ in found.values() if pid]
    root = transport.realpath(spec.deploy_to)  # /proc shows resolved paths
    cwd = {}
    if pids:
        try:
            trees = procs.process_trees(transport, spec.python, pids)["trees"]
            cwd = {int(root): tree[0].get("cwd") for root, tree in trees.items()}
        except (TransportError, KeyError, ValueError):  # the live venv may be gone; the states stand alone
            cwd = {}
    return {"manager": "supervisor", "services": {
        service: [{"name": name, "state": found[name][0], "pid": found[name][1],
                   "release": procs.release_of(root, cwd.get(found[name][1])), "words": found[name][2]}
                  for name in group] for service, group in names.items()}}
