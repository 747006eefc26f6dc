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
the share of the 2 cores busy during each run (/proc/stat: this run and anything else), and where
our time goes (each step's seconds from ``--format json``, median over rounds of the slowest host).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
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
STEP_LINE = re.compile(r"^\[(?P<host>[^\]]+)\] (?P<step>[^:\n]+): (?P<status>\w+) in (?P<seconds>[\d.]+)s", re.M)


def timed(action) -> tuple[object, float, float]:
    """(value, wall seconds, share of the machine's cores busy meanwhile)."""
    busy = machine_cpu()[0]
    start = time.perf_counter()
    value = action()
    wall = time.perf_counter() - start
    return value, wall, (machine_cpu()[0] - busy) / wall / CORES


def current(host) -> str:
    return (host.deploy_to / "current").resolve().name


def answers(host) -> int:
    return httpx.get(host.url(), headers={"Host": DOMAIN, "X-Forwarded-Proto": "https"}, timeout=10).status_code


def ours(world, hosts) -> dict:
    names = [h.name for h in hosts]
    run, wall, busy = timed(lambda: world.deploy("--format", "json", "-l", ",".join(names), timeout=3600))
    if run.returncode != 0:
        sys.exit(f"invoke deploy -l {','.join(names)} exited {run.returncode}:\n{run.output[-3000:]}")
    report = json.loads(run.stdout)
    for entry, host in zip(report["hosts"], hosts):
        steps = {s["step"]: s for s in entry["steps"]}
        if entry["status"] != "changed" or current(host) != report["release"] or not steps["venv"]["detail"].startswith("reused"):
            sys.exit(f"{host.name}: {entry['status']}, current {current(host)}, venv {steps['venv']['detail']}")
    return {"wall": wall, "busy": busy, "report": report}


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
    import subprocess

    try:
        done, wall, busy = timed(lambda: subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
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
    return {"wall": wall, "busy": busy}


def rollback(world, hosts) -> dict:
    names = [h.name for h in hosts]
    run, wall, busy = timed(lambda: world.tool("rollback", "--release", "--force", "-l", ",".join(names),
                                               timeout=1800))
    if run.returncode != 0:
        sys.exit(f"invoke rollback -l {','.join(names)} exited {run.returncode}:\n{run.output[-3000:]}")
    steps = {name: {} for name in names}
    for m in STEP_LINE.finditer(run.stderr):
        steps[m["host"]][m["step"]] = float(m["seconds"])
    if any(answers(h) != 200 for h in hosts):
        sys.exit("rollback: a host does not answer 200 afterwards")
    return {"wall": wall, "busy": busy, "steps": steps}


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
    walls = {k: median([r["wall"] for r in v]) for k, v in results.items()}
    busy = {k: median([r["busy"] for r in v]) for k, v in results.items()}
    rounds = len(results["ours1"])
    print(f"\nmedians of {rounds} round(s); a new commit each run, requirements unchanged; {CORES} cores")
    print(f"{'':22} {'1 host':>9} {f'{n} hosts':>9} {f'{n}/1':>6}   cores busy (1 / {n})")
    for key, label in (("ours", "invoke deploy"), ("ansible", "ansible-playbook")):
        if results[f"{key}1"]:
            one, many = walls[f"{key}1"], walls[f"{key}N"]
            print(f"{label:22} {one:8.1f}s {many:8.1f}s {many / one:6.2f}   {busy[f'{key}1']:.0%} / {busy[f'{key}N']:.0%}")
    if results["ansible1"]:
        for label, key in (("1 host", "1"), (f"{n} hosts", "N")):
            ratio = walls[f"ansible{key}"] / walls[f"ours{key}"]
            print(f"Ansible / ours, {label}: {ratio:.2f}x (goal >= 3: {'met' if ratio >= 3 else 'MISSED'})")
    ratio = walls["oursN"] / walls["ours1"]
    print(f"ours, {n} hosts / 1 host: {ratio:.2f} (goal <= 1.5: {'met' if ratio <= 1.5 else 'MISSED'})")
    for label, key in (("1 host", "ours1"), (f"{n} hosts", "oursN")):
        steps = breakdown(results[key])
        total = median([r["report"]["seconds"] for r in results[key]])
        print(f"\nwhere our time goes, {label} (run {total:.1f} s as the deploy reports it, wall {walls[key]:.1f} s;"
              " step: slowest host / median host, seconds):")
        print("  " + ", ".join(f"{name} {worst:.1f}/{mid:.1f}" for name, (worst, mid) in steps.items()))
    print("\nrollback (invoke rollback --release --force):")
    for run in rollbacks:
        hosts = run["steps"]
        print(f"  {len(hosts)} host(s): command {run['wall']:.1f} s (cores busy {run['busy']:.0%}); per host "
              "switch + services (restart) + health = seconds:")
        for name, steps in hosts.items():
            total = sum(steps.get(k, 0.0) for k in ("switch", "services", "health"))
            print(f"    {name}: {steps.get('switch', 0):.1f} + {steps.get('services', 0):.1f} + "
                  f"{steps.get('health', 0):.1f} = {total:.1f}  (all steps: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()) + ")")


if __name__ == "__main__":
    main()
