"""How long a hostile project holds an audit: settings that never return, locally and in a fleet.

    python bench/probe_timeout.py [--timeout 10] [--hosts 16] [--rounds 3]

Local: ``invoke audit --probe-timeout T`` on a copy of the demo whose settings end in an endless
loop (after forking a child that leaves the process group), against the same audit of an intact
copy. Fleet: HOSTS real sshd hosts (tests/sshd.py), one of them with those settings, audited with
``--forks HOSTS --probe-timeout T``, against the other hosts alone. The issue's bound is T + 2 s;
this prints the whole command's wall time, the hanging host's probe time as its supervisor
reports it (``timings.total``: from the probe's start to the kill), and the intact runs' times,
so that what the hanging host adds can be read off. Each run is checked: the hanging host has
``django.settings_timeout``, every other host a full report, and no process of the hanging
settings is left (their pids are written to a folder and looked up in /proc).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "thebot"
sys.path.insert(0, str(REPO / "tests"))

from sshd import sshd_hosts  # noqa: E402

HANG = """
import os as _os, time as _time
open({pids!r} + "/%d.pid" % _os.getpid(), "w").write(str(_os.getpid()))
if _os.fork() == 0:
    _os.setsid()
    open({pids!r} + "/%d.pid" % _os.getpid(), "w").write(str(_os.getpid()))
    _time.sleep(3600)
while True:
    _time.sleep(0.2)
"""


def hang(project: Path, pids: Path) -> None:
    settings = project / "backend" / "config" / "settings.py"
    settings.write_text(settings.read_text() + HANG.format(pids=str(pids)))


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def run(argv) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return wall, json.loads(done.stdout)


def check(document: dict, hanging: set[str], pids: Path) -> float | None:
    """The hanging host's probe time (s); exits if any host's report is not what it must be."""
    probe_seconds = None
    for host in document["hosts"]:
        ids = {f["id"] for f in host["findings"]}
        if host["host"] in hanging or (hanging == {"localhost"}):
            if "django.settings_timeout" not in ids:
                sys.exit(f"{host['host']}: no django.settings_timeout ({host.get('error')})")
            probe_seconds = host["facts"]["probe"]["timings"]["total"] / 1000
        elif "env.debug" not in ids or "django.settings_timeout" in ids:
            sys.exit(f"{host['host']}: no full report ({host.get('error') or sorted(ids)}); "
                     "on a loaded machine, give a --timeout above an intact probe's time")
    time.sleep(0.5)
    left = [p.name for p in pids.glob("*.pid") if alive(int(p.read_text()))]
    if left:
        sys.exit(f"processes of the hanging settings left running: {left}")
    return probe_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    t = f"{args.timeout:g}"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        pids = base / "pids"
        pids.mkdir()
        intact = Path(shutil.copytree(DEMO, base / "intact"))
        hanging = Path(shutil.copytree(DEMO, base / "hanging"))
        hang(hanging, pids)
        audit = [sys.executable, "-m", "invoke", "audit", "--format", "json", "--probe-timeout", t]
        local, local_ok, local_probe = [], [], []
        for _ in range(args.rounds):
            wall, document = run(audit + ["--project", str(hanging)])
            local_probe.append(check(document, {"localhost"}, pids))
            local.append(wall)
            local_ok.append(run(audit + ["--project", str(intact)])[0])
        print(f"local, settings never return:  wall {statistics.median(local):6.2f} s  probe killed after "
              f"{statistics.median(local_probe):6.2f} s (timeout {t} s); intact audit {statistics.median(local_ok):6.2f} s")

        with sshd_hosts(args.hosts, base / "sshd") as hosts:
            projects = {}
            for host in hosts:
                projects[host.name] = Path(shutil.copytree(DEMO, base / "fleet" / host.name))
            hang(projects[hosts[-1].name], pids)
            key = hosts[0].client_key
            known = base / "known_hosts"
            known.write_text("".join(h.known_hosts_line + "\n" for h in hosts))
            lines = ["hosts:"] + [
                f"  {h.name}: {{address: {h.address}, port: {h.port}, user: {h.user}, key: {key}, "
                f"project: {projects[h.name]}, python: {sys.executable}}}" for h in hosts]
            inventory = base / "inventory.yml"
            inventory.write_text("\n".join(lines) + "\n")
            fleet = audit + ["-i", str(inventory), "--known-hosts", str(known), "--forks", str(args.hosts)]
            names = ",".join(h.name for h in hosts[:-1])
            walls, intact_walls, probes = [], [], []
            for _ in range(args.rounds):
                wall, document = run(fleet)
                probes.append(check(document, {hosts[-1].name}, pids))
                walls.append(wall)
                intact_walls.append(run(fleet + ["--limit", names])[0])
        print(f"fleet of {args.hosts}, one hanging: wall {statistics.median(walls):6.2f} s  its probe killed after "
              f"{statistics.median(probes):6.2f} s (timeout {t} s); the other {args.hosts - 1} alone "
              f"{statistics.median(intact_walls):6.2f} s")
    with open("/proc/loadavg") as handle:
        print(f"{args.rounds} rounds, medians; load average at the end: {handle.read().split()[0]}")


if __name__ == "__main__":
    main()
