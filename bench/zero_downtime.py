"""Zero downtime: a steady load against the app during a deploy and a rollback, and against a
stop-everything-then-start restart of the same release (the baseline), in one run.

    python bench/zero_downtime.py [--rounds 1] [--rate 20] [--ssh]

Sets up the world of tests/deploy_world.py (the demo in git with a bare origin, a PostgreSQL
database and role of its own, a host with the production env owned by the unprivileged app user
and a real supervisord; ``--ssh``: the host is a real sshd on 127.0.0.2), deploys the demo once
(this builds the venv; not measured), then in each round, under load:

- deploy: a new commit (requirements unchanged) with ``invoke deploy``;
- rollback: ``invoke rollback --release --force`` (back to the newest good release before it);
- baseline: ``remediation.deploy.services.stop_start_restart`` of the release that is live
  (stop every program, the web socket closes with its last process, then start them).

The load is open-loop: a request is due every 1/RATE s whatever the earlier ones do (a stalled
server is not let off with fewer requests), each on a fresh connection (``Connection: close``, no
keep-alive), at most 64 in flight (bounded), GET of the health URL with the Host and
``X-Forwarded-Proto: https`` headers Django expects behind the proxy; 10 s timeout. Failed = any
answer but 200, a refused or reset connection, a timeout. It runs from 1 s before the command to
1 s after. No timing asserts: the numbers are printed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from deploy_world import APP_USER, DOMAIN, scratch_world  # noqa: E402

HEADERS = {"Host": DOMAIN, "X-Forwarded-Proto": "https", "Connection": "close"}
STEP_LINE = re.compile(r"^\[(?P<host>[^\]]+)\] (?P<step>[^:\n]+): (?P<status>\w+) in (?P<seconds>[\d.]+)s", re.MULTILINE)


class Load:
    """Open-loop steady requests: one due every ``1/rate`` s, each on its own connection."""

    def __init__(self, url: str, rate: float, in_flight: int = 64):
        self.url, self.interval = url, 1.0 / rate
        self.client = httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0,
                                                                   max_connections=in_flight))
        self.slots = threading.BoundedSemaphore(in_flight)
        self.pool = ThreadPoolExecutor(max_workers=in_flight)
        self.results: list[tuple[float, float, object]] = []  # (due, latency, 200 | status | error name)
        self.late = 0  # requests sent more than one interval after they were due (all slots busy)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.schedule, daemon=True)

    def one(self, due: float) -> None:
        started = time.monotonic()
        try:
            outcome = self.client.get(self.url, headers=HEADERS).status_code
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        self.results.append((due, time.monotonic() - started, outcome))
        self.slots.release()

    def schedule(self) -> None:
        start, n = time.monotonic(), 0
        while not self.stop.is_set():
            due = start + n * self.interval
            time.sleep(max(0.0, due - time.monotonic()))
            self.slots.acquire()
            if time.monotonic() - due > self.interval:
                self.late += 1
            self.pool.submit(self.one, due)
            n += 1

    def __enter__(self):
        self.began = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)
        self.pool.shutdown(wait=True)
        self.client.close()
        self.seconds = time.monotonic() - self.began

    def summary(self) -> dict:
        failed = collections.Counter(str(o) for _, _, o in self.results if o != 200)
        latencies = sorted(latency for _, latency, _ in self.results)
        failing = [due - self.began for due, _, o in self.results if o != 200]
        return {"sent": len(self.results), "failed": sum(failed.values()), "kinds": dict(failed),
                "p50": statistics.median(latencies) if latencies else 0, "max": latencies[-1] if latencies else 0,
                "p99": latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0, "late": self.late,
                "seconds": self.seconds, "failing_window": (min(failing), max(failing)) if failing else None}


def under_load(url: str, rate: float, action):
    """``action()`` with the load running from 1 s before to 1 s after it; (its value, its seconds, load)."""
    with Load(url, rate) as load:
        time.sleep(1)
        started = time.monotonic()
        value = action()
        seconds = time.monotonic() - started
        time.sleep(1)
    return value, seconds, load.summary()


def current(host) -> str:
    return (host.deploy_to / "current").resolve().name


def live_spec(host):
    """The ServiceSpec the deploy used, proven by rendering: every file it would write must equal
    the file on the host (else the baseline would restart something else)."""
    from remediation.deploy import services

    spec = services.ServiceSpec(
        app="thebot", deploy_to=str(host.deploy_to), user=APP_USER, group=APP_USER, manage_rel="backend", asgi=True,
        app_module="config.asgi:application", bind=f"127.0.0.1:{host.port}", celery_app="config", beat=True,
        process_manager="supervisor", supervisorctl=["supervisorctl", "-c", str(host.conf)],
        supervisor_conf_dir=str(host.conf.parent / "conf.d"))
    for path, (text, _) in services.rendered_files(spec).items():
        if Path(path).read_text() != text:
            sys.exit(f"baseline: {path} differs from what the deploy installed; the spec here is out of date")
    return spec


def baseline(host) -> list[dict]:
    from remediation.deploy import services
    from remediation.transport import Local

    release = host.deploy_to / "releases" / current(host)
    results = services.stop_start_restart(Local(), live_spec(host), str(release))
    if any(r["status"] != "ok" for r in results):
        sys.exit(f"baseline restart failed: {results}")
    return results


def checked(run, what: str):
    if run.returncode != 0:
        sys.exit(f"{what} exited {run.returncode}:\n{run.output[-3000:]}")
    return run


def round_once(world, host, rate: float, number: int) -> dict:
    before = current(host)
    world.commit(f"bench round {number}", {"backend/config/bench_round.py": f"ROUND = {number}\n"})
    run, seconds, load = under_load(host.url(), rate, lambda: world.deploy("--format", "json", timeout=1800))
    report = json.loads(checked(run, "invoke deploy").stdout)
    steps = {s["step"]: s for s in report["hosts"][0]["steps"]}
    if not steps["venv"]["detail"].startswith("reused ") or current(host) == before:
        sys.exit(f"deploy: expected a new release on the same venv, got {steps['venv']['detail']!r}")
    rows = {"deploy": {**load, "command": seconds, "restart": steps["services"]["seconds"],
                       "switch": steps["switch"]["seconds"], "services_detail": steps["services"]["detail"]}}

    deployed = current(host)
    rows_json = json.loads(checked(world.tool("releases", "--format", "json"), "invoke releases").stdout)[host.name]
    previous = next(r["id"] for r in rows_json if r["state"] == "previous")  # newest good one before current
    run, seconds, load = under_load(host.url(), rate, lambda: world.tool("rollback", "--release", "--force",
                                                                       timeout=900))
    checked(run, "invoke rollback --release --force")
    if current(host) != previous:
        sys.exit(f"rollback: current is {current(host)}, expected {previous} (deployed {deployed})")
    found = {m["step"]: float(m["seconds"]) for m in STEP_LINE.finditer(run.stderr) if m["host"] == host.name}
    rows["rollback"] = {**load, "command": seconds, "restart": found.get("services"), "switch": found.get("switch"),
                        "steps": found, "services_detail": ""}

    results, seconds, load = under_load(host.url(), rate, lambda: baseline(host))
    rows["baseline"] = {**load, "command": seconds, "restart": seconds, "switch": 0.0,
                        "services_detail": ", ".join(f"{r['service']} ({r['seconds']:.1f}s)" for r in results)}
    return rows


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--ssh", action="store_true", help="deploy over SSH to an sshd host on 127.0.0.2")
    args = parser.parse_args()
    started = time.monotonic()
    print(f"load average at start: {load_average()} ({len(os.sched_getaffinity(0))} cores)", flush=True)
    with scratch_world("zerodowntime") as world, tempfile.TemporaryDirectory(prefix="zd-sshd-") as tmp:
        ssh = None
        if args.ssh:
            from sshd import sshd_hosts

            stack = sshd_hosts(1, Path(tmp))
            ssh = stack.__enter__()[0]
        try:
            host = world.add_host("web1", ssh=ssh)
            checked(world.deploy(timeout=1800), "the first deploy")
            print(f"first deploy done (venv built) at {time.monotonic() - started:.0f} s; load {load_average()}",
                  flush=True)
            rounds = []
            for number in range(1, args.rounds + 1):
                rounds.append(round_once(world, host, args.rate, number))
                print(f"round {number} done at {time.monotonic() - started:.0f} s; load {load_average()}", flush=True)
        finally:
            if args.ssh:
                stack.__exit__(None, None, None)
    report(rounds, args)
    print(f"\nload average at the end: {load_average()}; total {time.monotonic() - started:.0f} s")


def report(rounds: list[dict], args) -> None:
    print(f"\n{args.rate:g} requests/s, open loop, no keep-alive, GET {'/api/health/'} (Host: {DOMAIN}, "
          f"X-Forwarded-Proto: https), from 1 s before to 1 s after each command; {len(rounds)} round(s)"
          + (", over SSH" if args.ssh else ", local host"))
    print(f"{'':9} {'sent':>6} {'failed':>7} {'window s':>9} {'command s':>10} {'restart s':>10} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  failures")
    for number, rows in enumerate(rounds, 1):
        for name in ("deploy", "rollback", "baseline"):
            r = rows[name]
            restart = f"{r['restart']:.1f}" if r["restart"] is not None else "?"
            kinds = ", ".join(f"{k} x{v}" for k, v in r["kinds"].items()) or "-"
            if r["failing_window"]:
                kinds += f" (between {r['failing_window'][0]:.1f} and {r['failing_window'][1]:.1f} s)"
            print(f"{name + (f' #{number}' if len(rounds) > 1 else ''):9} {r['sent']:6d} {r['failed']:7d} "
                  f"{r['seconds']:9.1f} {r['command']:10.1f} {restart:>10} {r['p50'] * 1000:7.0f} "
                  f"{r['p99'] * 1000:7.0f} {r['max'] * 1000:7.0f}  {kinds}" + (f"; {r['late']} sent late" if r["late"] else ""))
    for name in ("deploy", "rollback", "baseline"):
        failed = sum(rows[name]["failed"] for rows in rounds)
        sent = sum(rows[name]["sent"] for rows in rounds)
        print(f"{name}: {failed} of {sent} requests failed ({100 * failed / max(sent, 1):.1f}%)")
    for rows in rounds:
        for name in ("deploy", "baseline"):
            print(f"{name} restart: {rows[name]['services_detail']}")
    rb = [rows["rollback"] for rows in rounds]
    print("rollback (invoke rollback --release --force, 1 host): "
          + "; ".join(f"command {r['command']:.1f} s, switch {r['switch']} s + restart {r['restart']} s, steps "
                      + ", ".join(f"{k} {v:.1f}" for k, v in r["steps"].items()) for r in rb))


if __name__ == "__main__":
    main()
