"""Deploy speed: ``invoke deploy`` on 1 and on N sshd hosts against an Ansible playbook doing the
same steps, and ``invoke rollback --release --force`` per host, in one run.

    python bench/deploy_vs_ansible.py [--hosts 8] [--rounds 2] [--no-ansible]

Starts N real OpenSSH sshd hosts on 127.0.0.2.. (tests/sshd.py), and the world of
tests/deploy_world.py around them (the demo in git with a bare origin, one PostgreSQL database
and role, per host a DEPLOY_TO with the production env owned by the app user and a supervisord of
its own, the app on a free loopback port). One first deploy to every host builds each host's venv
(not measured); a first playbook run warms Ansible up (not measured). Then each round, with a new
commit whose requirements did not change, Ansible first and ours second on the same hosts:

- 1 host: ``ansible-playbook bench/ansible/deploy.yml --limit web1`` and ``invoke deploy -l web1``;
- N hosts: the playbook with ``-f N`` and ``invoke deploy`` (default ``--serial``: all at once).

Ansible as fleet_audit.py runs it: pipelining, no fact gathering, strict host keys, fresh
ControlPersist sockets per run. Its releases are named ``ansible-*`` (our history ignores them);
the venv is the one our first deploy built (the playbook's pip finds it complete). Every run is
checked: exit 0, every host's ``current`` on the run's release, the app answering 200.

Then rollback: ``invoke rollback --release --force`` on web1, then on every host; per host the
switch, services (restart) and health steps, from its plain progress lines.

Printed: medians of wall times, the ratios (goals: Ansible / ours >= 3, N hosts / 1 host <= 1.5),
the CPU each run's processes used (all hosts share this machine's cores: N hosts' CPU over the
cores is a floor no deploy can beat here) and the CPU anything else used meanwhile (/proc/stat),
and where our time goes (each step's seconds from ``--format json``: the slowest host and the
median host, median over rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "bench")]

from deploy_world import DOMAIN, scratch_world  # noqa: E402
from fleet_audit import ansible_playbook, close_masters, machine_cpu  # noqa: E402
from sshd import sshd_hosts  # noqa: E402

PLAYBOOK = REPO / "bench" / "ansible" / "deploy.yml"
ANSIBLE_CFG = REPO / "bench" / "ansible" / "ansible.cfg"
CORES = len(os.sched_getaffinity(0))
TICKS = os.sysconf("SC_CLK_TCK")
STEP_LINE = re.compile(r"^\[(?P<host>[^\]]+)\] (?P<step>[^:\n]+): (?P<status>\w+) in (?P<seconds>[\d.]+)s", re.MULTILINE)


def world_cpu() -> float:
    """CPU seconds (user+sys) of everything this script started, alive or reaped: the commands, the
    sshd hosts and their sessions, the supervisords and the app processes under them. (Not
    counted: PostgreSQL's and Redis's servers, and Ansible's ControlPersist masters, which detach.)"""
    stats, children = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
            children.setdefault(int(fields[1]), []).append(int(entry))
    me = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    total, todo = int(me[13]) + int(me[14]), list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0)
        todo += children.get(pid, [])
    return total / TICKS


def controller_cpu() -> float:
    """CPU of the commands themselves and their local children (invoke, ansible-playbook and its
    forks), without the hosts' side (sshd sessions and the app are not our children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action) -> tuple[object, dict]:
    """(value, {wall, cpu: this run's processes, controller: the command's own, other: anything else})."""
    busy, cpu, controller = machine_cpu()[0], world_cpu(), controller_cpu()
    start = time.perf_counter()
    value = action()
    wall = time.perf_counter() - start
    cpu = world_cpu() - cpu
    return value, {"wall": wall, "cpu": cpu, "controller": controller_cpu() - controller,
                   "other": max(0.0, machine_cpu()[0] - busy - cpu)}


def current(host) -> str:
    return (host.deploy_to / "current").resolve().name


def answers(host) -> int:
    return httpx.get(host.url(), headers={"Host": DOMAIN, "X-Forwarded-Proto": "https"}, timeout=10).status_code


def ours(world, hosts) -> dict:
    names = [h.name for h in hosts]
    run, measured = timed(lambda: world.deploy("--format", "json", "-l", ",".join(names), timeout=3600))
    if run.returncode != 0:
        sys.exit(f"invoke deploy -l {','.join(names)} exited {run.returncode}:\n{run.output[-3000:]}")
    report = json.loads(run.stdout)
    for entry, host in zip(report["hosts"], hosts):
        steps = {s["step"]: s for s in entry["steps"]}
        if entry["status"] != "changed" or current(host) != report["release"] or not steps["venv"]["detail"].startswith("reused"):
            sys.exit(f"{host.name}: {entry['status']}, current {current(host)}, venv {steps['venv']['detail']}")
    return {**measured, "report": report}


def ansible_inventory(world, base: Path) -> Path:
    hosts = {}
    for host in world.hosts:
        venvs = [p for p in (host.deploy_to / "venvs").iterdir() if not p.name.startswith(".")]
        if len(venvs) != 1:
            sys.exit(f"{host.name}: expected one venv, found {venvs}")
        hosts[host.name] = {"ansible_host": host.ssh.address, "ansible_port": host.ssh.port,
                            "deploy_to": str(host.deploy_to), "venv": str(venvs[0]),
                            "app_bind": f"127.0.0.1:{host.port}", "supervisorctl": f"supervisorctl -c {host.conf}"}
    ssh = world.hosts[0].ssh
    common = {"ansible_user": ssh.user, "ansible_ssh_private_key_file": str(ssh.client_key),
              "ansible_python_interpreter": sys.executable, "project": str(world.project),
              "archive": str(base / "ansible-release.tar.gz"), "pip_args": f"--no-index --find-links {world.wheels}",
              "domain": DOMAIN, "ansible_ssh_common_args": f"-o UserKnownHostsFile={world.known_hosts} "
                                                          "-o StrictHostKeyChecking=yes"}
    path = base / "ansible-inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": common}}))
    return path


def ansible(program, inventory: Path, hosts, base: Path) -> dict:
    rid = "ansible-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{time.monotonic_ns() % 10**6}"
    control = base / f"cp-{rid}"  # fresh ControlPersist sockets: every run starts cold
    control.mkdir()
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG), "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
           "ANSIBLE_HOME": str(base / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(base / "ansible-home" / "tmp"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "False"}
    names = [h.name for h in hosts]
    argv = [program, "-i", str(inventory), "-f", str(len(names)), "--limit", ",".join(names), "-e",
            f"release_id={rid}", str(PLAYBOOK)]
    try:
        done, measured = timed(lambda: subprocess.run(argv, check=False, cwd=REPO, env=env, capture_output=True, text=True,
                                                        timeout=3600))
    finally:
        close_masters(control)
    recap = done.stdout.split("PLAY RECAP", 1)[-1]
    good = [line for line in recap.splitlines() if line.split(":", 1)[0].strip() in names
            and "failed=0" in line and "unreachable=0" in line]
    if done.returncode != 0 or len(good) != len(names):
        sys.exit(f"ansible-playbook exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-1500:]}")
    for host in hosts:
        if current(host) != rid or answers(host) != 200:
            sys.exit(f"ansible: {host.name} current {current(host)} (expected {rid}), health {answers(host)}")
    return measured


def rollback(world, hosts) -> dict:
    names = [h.name for h in hosts]
    run, measured = timed(lambda: world.tool("rollback", "--release", "--force", "-l", ",".join(names),
                                               timeout=1800))
    if run.returncode != 0:
        sys.exit(f"invoke rollback -l {','.join(names)} exited {run.returncode}:\n{run.output[-3000:]}")
    steps = {name: {} for name in names}
    for m in STEP_LINE.finditer(run.stderr):
        steps[m["host"]][m["step"]] = float(m["seconds"])
    if any(answers(h) != 200 for h in hosts):
        sys.exit("rollback: a host does not answer 200 afterwards")
    return {**measured, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-ansible", action="store_true")
    args = parser.parse_args()
    program = None if args.no_ansible else ansible_playbook()
    if program is None and not args.no_ansible:
        print("ansible-core is not installed (pip install -e '.[bench]'): skipping the Ansible baseline")
    started = time.monotonic()
    results = {"ours1": [], "oursN": [], "ansible1": [], "ansibleN": []}

    def note(text: str) -> None:
        load = " ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"[{time.monotonic() - started:5.0f} s, load {load}] {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="deploy-bench-") as tmp, scratch_world("deploybench") as world, \
            sshd_hosts(args.hosts, Path(tmp) / "sshd") as sshds:
        base = Path(tmp)
        hosts = [world.add_host(s.name, ssh=s) for s in sshds]
        first = world.deploy(timeout=3600)
        if first.returncode != 0:
            sys.exit(f"the first deploy failed:\n{first.output[-3000:]}")
        note(f"first deploy to {len(hosts)} hosts done (venvs built)")
        inventory = ansible_inventory(world, base)
        if program:
            ansible(program, inventory, hosts, base)
            note("Ansible warm-up run done")
        for number in range(1, args.rounds + 1):
            for label, subset in (("1", hosts[:1]), ("N", hosts)):
                world.commit(f"bench round {number}/{label}", {"backend/config/bench_round.py": f"ROUND = '{number}{label}'\n"})
                if program:
                    results[f"ansible{label}"].append(ansible(program, inventory, subset, base))
                    note(f"ansible on {len(subset)} host(s): {results[f'ansible{label}'][-1]['wall']:.1f} s")
                results[f"ours{label}"].append(ours(world, subset))
                note(f"invoke deploy on {len(subset)} host(s): {results[f'ours{label}'][-1]['wall']:.1f} s")
        rollbacks = [rollback(world, hosts[:1]), rollback(world, hosts)]
        note("rollbacks done")
    report(results, rollbacks, len(hosts))
    note("done")


def median(values):
    return statistics.median(values) if values else float("nan")


def breakdown(runs: list[dict]) -> dict[str, tuple[float, float]]:
    """step -> (median over rounds of the slowest host's seconds, of the median host's seconds)."""
    per_round = []
    for run in runs:
        steps: dict[str, list[float]] = {}
        for host in run["report"]["hosts"]:
            for step in host["steps"]:
                steps.setdefault(step["step"], []).append(step["seconds"])
        per_round.append(steps)
    names = list(dict.fromkeys(name for steps in per_round for name in steps))
    return {name: (median([max(s[name]) for s in per_round if name in s]),
                   median([median(s[name]) for s in per_round if name in s])) for name in names}


def report(results: dict, rollbacks: list[dict], n: int) -> None:
    med = {k: {f: median([r[f] for r in v]) for f in ("wall", "cpu", "controller", "other")} for k, v in results.items() if v}
    print(f"\nmedians of {len(results['ours1'])} round(s); a new commit each run, requirements unchanged; {CORES} cores "
          "shared by every host; CPU = user+sys of all the run's processes (controller, sshd sessions, app)")
    print(f"{'':18} {'1 host':>8} {f'{n} hosts':>8} {f'{n}/1':>5}   CPU 1 / {n} hosts (controller)   other load (1 / {n})")
    for key, label in (("ours", "invoke deploy"), ("ansible", "ansible-playbook")):
        if f"{key}1" in med:
            one, many = med[f"{key}1"], med[f"{key}N"]
            print(f"{label:18} {one['wall']:7.1f}s {many['wall']:7.1f}s {many['wall'] / one['wall']:5.2f}   "
                  f"{one['cpu']:5.1f}s / {many['cpu']:5.1f}s ({one['controller']:.1f} / {many['controller']:.1f})   "
                  f"{one['other'] / one['wall'] / CORES:.0%} / "
                  f"{many['other'] / many['wall'] / CORES:.0%} of the cores")
    if "ansible1" in med:
        for label, key in (("1 host", "1"), (f"{n} hosts", "N")):
            ratio = med[f"ansible{key}"]["wall"] / med[f"ours{key}"]["wall"]
            print(f"Ansible / ours, {label}: {ratio:.2f}x (goal >= 3: {'met' if ratio >= 3 else 'MISSED'})")
    one, many = med["ours1"], med["oursN"]
    ratio = many["wall"] / one["wall"]
    floor = max(one["wall"], many["cpu"] / CORES)
    print(f"ours, {n} hosts / 1 host: {ratio:.2f} (goal <= 1.5: {'met' if ratio <= 1.5 else 'MISSED'}); the {n} hosts' "
          f"CPU on {CORES} cores alone takes {many['cpu'] / CORES:.1f} s: floor max({one['wall']:.1f}, "
          f"{many['cpu'] / CORES:.1f}) = {floor:.1f} s, wall / floor {many['wall'] / floor:.2f}")
    for label, key in (("1 host", "ours1"), (f"{n} hosts", "oursN")):
        steps = breakdown(results[key])
        total = median([r["report"]["seconds"] for r in results[key]])
        print(f"\nwhere our time goes, {label} (run {total:.1f} s as the deploy reports it, wall {med[key]['wall']:.1f} s;"
              " step: slowest host / median host, seconds):")
        print("  " + ", ".join(f"{name} {worst:.1f}/{mid:.1f}" for name, (worst, mid) in steps.items()))
        details = [s["detail"] for r in results[key] for h in r["report"]["hosts"][:1] for s in h["steps"] if s["step"] == "services"]
        print(f"  services on {results[key][0]['report']['hosts'][0]['host']}: " + " | ".join(details))
    print("\nrollback (invoke rollback --release --force):")
    for run in rollbacks:
        hosts = run["steps"]
        print(f"  {len(hosts)} host(s): command {run['wall']:.1f} s, CPU {run['cpu']:.1f} s (controller "
              f"{run['controller']:.1f} s), other load "
              f"{run['other'] / run['wall'] / CORES:.0%}; per host switch + services (restart) + health = seconds:")
        for name, steps in hosts.items():
            total = sum(steps.get(k, 0.0) for k in ("switch", "services", "health"))
            print(f"    {name}: {steps.get('switch', 0):.1f} + {steps.get('services', 0):.1f} + "
                  f"{steps.get('health', 0):.1f} = {total:.1f}  (all steps: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()) + ")")


if __name__ == "__main__":
    main()
