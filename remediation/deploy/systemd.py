"""systemd control: daemon-reload and enable what changed, restart units, read their state.

Only the rendering is tested here (``systemd-analyze verify`` and ``security --offline``): systemd
cannot run on the test hosts. The restart is ``systemctl restart`` per unit; the web socket unit
is never restarted, so connections queue in it while gunicorn restarts. After each restart the
unit must be active, and its main process and children must run the release (procs.py).
"""

from __future__ import annotations

import posixpath
import time

from ..transport import TransportError
from . import procs
from .services import WEB_STOP_SECONDS, WORKER_STOP_SECONDS, ServiceError

ACTIVE_SECONDS = 120


def systemctl(transport, *args: str, timeout: float = 120):
    return transport.run(["systemctl", *args], timeout=timeout)


def _last(result) -> str:
    return (f"{result.stdout}\n{result.stderr}".strip().splitlines() or [f"exit {result.returncode}"])[-1].strip()


def units(spec) -> list[str]:
    return [f"{service}.service" for service in spec.services]


def pick_up(transport, spec, before: dict, changed: list[str]) -> list[str]:
    """Reload when a unit changed; enable the socket and services (idempotent); a beat unit this
    host no longer runs is stopped, disabled and removed. Returns the paths removed."""
    removed = []
    beat = posixpath.join(spec.systemd_unit_dir, f"{spec.app}-beat.service")
    if not spec.beat and transport.lstat(beat) is not None:
        systemctl(transport, "disable", "--now", f"{spec.app}-beat.service", timeout=WORKER_STOP_SECONDS)
        transport.remove(beat)
        removed.append(beat)
    if changed or removed:
        result = systemctl(transport, "daemon-reload")
        if result.returncode != 0:
            raise ServiceError(f"systemctl daemon-reload: {_last(result)}")
    result = systemctl(transport, "enable", f"{spec.app}-web.socket", *units(spec))
    if result.returncode != 0:
        raise ServiceError(f"systemctl enable: {_last(result)}")
    return removed


def show(transport, unit: str) -> dict:
    result = systemctl(transport, "show", "--property=ActiveState,SubState,MainPID", unit, timeout=60)
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {"state": values.get("ActiveState", "unknown"), "sub": values.get("SubState", "unknown"),
            "pid": int(values["MainPID"]) if values.get("MainPID", "0").isdigit() and values["MainPID"] != "0" else None}


def _journal(transport, spec, unit: str) -> str:
    result = transport.run(["journalctl", "--unit", unit, "--lines", "8", "--no-pager", "--output", "cat"], timeout=60)
    return procs.masked(transport, spec.env_file, procs.last_lines(result.stdout)) if result.returncode == 0 else ""


def _restart_one(transport, spec, unit: str, release_dir: str, workers: int) -> str | None:
    stop_seconds = WORKER_STOP_SECONDS if "-worker" in unit else WEB_STOP_SECONDS
    result = systemctl(transport, "restart", unit, timeout=stop_seconds + 120)
    deadline = time.monotonic() + ACTIVE_SECONDS
    while result.returncode == 0:
        state = show(transport, unit)
        if state["state"] == "active" and state["pid"]:
            found = procs.process_trees(transport, posixpath.join(release_dir, ".venv", "bin", "python"),
                                        [state["pid"]], release_dir)
            problems = procs.release_problems(found, {state["pid"]: workers})
            if not problems:
                return None
            if time.monotonic() > deadline or not any("worker(s)" in problem for problem in problems):
                return f"{unit} does not run the release: " + "; ".join(problems)
        elif state["state"] in ("failed", "inactive") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    log = _journal(transport, spec, unit)
    return f"{unit} did not become active ({_last(result) if result.returncode else show(transport, unit)['state']})" + (
        f"; last log lines:\n{log}" if log else "")


def restart(transport, spec, release_dir: str) -> list[dict]:
    results, failed = [], None
    for service in spec.services:
        started = time.monotonic()
        if failed:
            results.append({"service": service, "status": "skipped", "seconds": 0.0, "detail": f"not restarted: {failed} failed"})
            continue
        why = _restart_one(transport, spec, f"{service}.service", release_dir, spec.workers if service.endswith("-web") else 0)
        results.append({"service": service, "status": "failed" if why else "ok",
                        "seconds": round(time.monotonic() - started, 2), "detail": why or ""})
        failed = service if why else None
    return results


def stop_start(transport, spec, release_dir: str) -> list[dict]:
    """Stop the services and the web socket (connections are refused), then start them again."""
    systemctl(transport, "stop", f"{spec.app}-web.socket", *units(spec), timeout=WORKER_STOP_SECONDS + 60)
    started = systemctl(transport, "start", f"{spec.app}-web.socket", timeout=60)
    if started.returncode != 0:
        raise ServiceError(f"systemctl start {spec.app}-web.socket: {_last(started)}")
    return restart(transport, spec, release_dir)


def status(transport, spec) -> dict:
    services = {}
    for service in spec.services:
        state = show(transport, f"{service}.service")
        cwd = None
        if state["pid"]:
            try:
                trees = procs.process_trees(transport, spec.python, [state["pid"]])["trees"]
                cwd = trees[str(state["pid"])][0].get("cwd")
            except (TransportError, KeyError, ValueError):
                cwd = None
        services[service] = [{"name": f"{service}.service", "state": state["state"], "pid": state["pid"],
                              "release": procs.release_of(spec.deploy_to, cwd), "words": state["sub"]}]
    return {"manager": "systemd", "services": services}
