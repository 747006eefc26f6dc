"""Fleet audit over SSH against its floor, and against Ansible doing the same audit, in one run.

    python bench/fleet_audit.py [--hosts 16] [--rounds 3] [--ansible-rounds 2] [--budget 170] [--no-ansible]

Starts HOSTS real OpenSSH sshd hosts on 127.0.0.x (tests/sshd.py), each with its own copy of the
demo (a git work tree with an upstream), writes our YAML inventory, an Ansible INI inventory and
a known_hosts file, then measures, in rounds (medians):

- fleet: ``invoke audit -i INV --known-hosts KH --forks HOSTS --format json`` (all hosts);
- one host: the same with ``--limit web1``;
- the fixed local cost of a run: the same against one host whose port is closed (the process
  starts, imports everything it needs to connect, fails to connect, renders its report);
- CPU (user+sys) on both sides: ours from ``RUSAGE_CHILDREN`` around the subprocess; each host's
  from its sshd's ``/proc/PID/stat`` cutime+cstime (every connection's sshd-session, shell, probe
  and git run as waited-for descendants of the listening sshd, so their CPU lands there once
  they are reaped; we wait until the sshd has no child left).

floor = max(one host's wall time, (fixed local + HOSTS x per-host CPU) / cores), where per-host
CPU = (one-host run's local CPU - fixed local) + one host's sshd-side CPU. Target: fleet / floor
<= 1.5. Every run is checked to open exactly one SSH connection per host (sshd's "Accepted
publickey" lines). The CPU the machine spent on anything else during the runs (/proc/stat) is
printed too: numbers taken while something else ran are not worth keeping.

With ansible-core installed (``pip install -e '.[bench]'``), ``bench/ansible/audit.yml`` runs on 1
and on 8 of the same hosts (forks = host count, strict host keys, pipelining, ControlPersist
within a run and torn down after it) against ``invoke audit`` on the same hosts. Target: we are
at least 4x faster on both. Without ansible-core that part is skipped.

The bundled demo is never modified: every host gets a copy in a temp folder, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "thebot"
PLAYBOOK = REPO / "bench" / "ansible" / "audit.yml"
ANSIBLE_CFG = REPO / "bench" / "ansible" / "ansible.cfg"
sys.path.insert(0, str(REPO / "tests"))

from sshd import SshdUnavailable, free_port, keygen, sshd_hosts  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
ANSIBLE_SUBSET = 8


# --- the hosts --------------------------------------------------------------------------------


def git(*argv, cwd):
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", *argv], cwd=cwd, env=env, check=True, capture_output=True, text=True)


def make_template(base: Path) -> Path:
    """A copy of the demo as a deployed checkout: a git work tree, committed, tracking an origin."""
    template = base / "template" / "thebot"
    shutil.copytree(DEMO, template, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".remediation"))
    git("init", "-q", "-b", "main", cwd=template)
    git("add", "-A", cwd=template)
    git("commit", "-q", "-m", "deploy", cwd=template)
    origin = base / "origin.git"
    git("clone", "-q", "--bare", str(template), str(origin), cwd=base)
    git("remote", "add", "origin", str(origin), cwd=template)
    git("fetch", "-q", "origin", cwd=template)
    git("branch", "-q", "--set-upstream-to=origin/main", "main", cwd=template)
    return template


def write_inventories(base: Path, hosts, template: Path) -> dict:
    projects = {}
    for host in hosts:
        project = base / "projects" / host.name / "thebot"
        shutil.copytree(template, project, symlinks=True)
        projects[host.name] = project
    key = hosts[0].client_key
    known_hosts = base / "known_hosts"
    known_hosts.write_text("".join(h.known_hosts_line + "\n" for h in hosts))
    ours = ["hosts:"]
    ini = ["[web]"]
    for host in hosts:
        ours.append(f"  {host.name}: {{address: {host.address}, port: {host.port}, user: {host.user}, "
                    f"key: {key}, project: {projects[host.name]}, python: {sys.executable}}}")
        ini.append(f"{host.name} ansible_host={host.address} ansible_port={host.port} project={projects[host.name]}")
    ini += ["", "[web:vars]", f"ansible_user={hosts[0].user}", f"ansible_ssh_private_key_file={key}",
            f"ansible_python_interpreter={sys.executable}",
            f"ansible_ssh_common_args='-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes'"]
    (base / "inventory.yml").write_text("\n".join(ours) + "\n")
    (base / "hosts.ini").write_text("\n".join(ini) + "\n")
    # A host nobody listens on: what a run costs on this side without any host's work.
    closed = free_port("127.0.0.1")
    (base / "closed.yml").write_text(
        f"hosts:\n  closed: {{address: 127.0.0.1, port: {closed}, user: {hosts[0].user}, key: {key}, "
        f"project: /nonexistent, python: {sys.executable}}}\n")
    return {"inventory": base / "inventory.yml", "ini": base / "hosts.ini", "known_hosts": known_hosts,
            "closed": base / "closed.yml"}


# --- CPU of a host: its sshd and every descendant it reaped ----------------------------------------


def proc_children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def sshd_cpu(pid: int) -> float:
    """utime+stime+cutime+cstime of the listening sshd, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS  # fields 14-17 of stat(5)


def wait_reaped(hosts, timeout=10.0) -> None:
    """Until no sshd has a session child left (so all their CPU is in cutime/cstime)."""
    deadline = time.monotonic() + timeout
    pids = {h.process.pid for h in hosts}
    while any(proc_children(pid) for pid in pids):
        if time.monotonic() > deadline:
            sys.exit("sshd session processes did not exit within 10 s after the run")
        time.sleep(0.02)


# --- one measured run ------------------------------------------------------------------------------


class Run:
    def __init__(self, wall, local_cpu, remote_cpu, logins, stdout, stderr, returncode, machine_cpu):
        self.wall, self.local_cpu, self.remote_cpu = wall, local_cpu, remote_cpu
        self.logins, self.stdout, self.stderr, self.returncode = logins, stdout, stderr, returncode
        self.machine_cpu = machine_cpu  # (busy, steal) seconds of the whole machine during the run

    @property
    def foreign_cpu(self) -> float:
        """CPU the machine spent during the run on anything but this run (other processes, the kernel)."""
        return max(0.0, self.machine_cpu[0] - self.local_cpu - sum(self.remote_cpu.values()))


def machine_cpu() -> tuple[float, float]:
    """Busy (user, nice, system, irq, softirq) and steal seconds of all CPUs, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[i] for i in (0, 1, 2, 5, 6)) / TICKS, fields[7] / TICKS


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(argv, hosts, cwd=REPO, env=None, after=None) -> Run:
    """Run argv once: its wall time, our CPU, each host's sshd-side CPU and SSH logins.
    ``after`` runs once the command has exited, before the hosts' CPU is read (closing
    connections the command left open)."""
    wait_reaped(hosts)
    accepted = {h.name: h.accepted() for h in hosts}
    remote = {h.name: sshd_cpu(h.process.pid) for h in hosts}
    cpu = children_cpu()
    machine = machine_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    machine = tuple(after - before for after, before in zip(machine_cpu(), machine))
    local_cpu = children_cpu() - cpu
    if after is not None:
        after()
    wait_reaped(hosts)
    remote = {h.name: sshd_cpu(h.process.pid) - remote[h.name] for h in hosts}
    logins = {h.name: h.accepted() - accepted[h.name] for h in hosts}
    return Run(wall, local_cpu, remote, logins, done.stdout, done.stderr, done.returncode, machine)


def audit_argv(paths, hosts_count, limit=None, inventory=None):
    argv = [sys.executable, "-m", "invoke", "audit", "-i", str(inventory or paths["inventory"]),
            "--known-hosts", str(paths["known_hosts"]), "--forks", str(hosts_count), "--format", "json"]
    return argv + (["--limit", limit] if limit else [])


def check_ours(run: Run, names: list[str], what: str) -> dict:
    """Every named host audited without error, one SSH login each, none on the others."""
    if run.returncode not in (0, 1):
        sys.exit(f"{what}: invoke audit exited {run.returncode}: {run.stderr.strip()[-500:]}")
    document = json.loads(run.stdout)
    errors = {h["host"]: h["error"] for h in document["hosts"] if h["error"]}
    if errors or sorted(h["host"] for h in document["hosts"]) != sorted(names):
        sys.exit(f"{what}: hosts failed: {errors or [h['host'] for h in document['hosts']]}")
    bad = {name: n for name, n in run.logins.items() if n != (1 if name in names else 0)}
    if bad:
        sys.exit(f"{what}: sshd logins per host should be 1 (0 for hosts not in the run), got {bad}")
    return document


# --- Ansible -----------------------------------------------------------------------------------------


def ansible_playbook() -> str | None:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else shutil.which("ansible-playbook")


def run_ansible(program, paths, hosts, names, base: Path, index: int) -> Run:
    control = base / f"cp-{index}"  # fresh ControlPersist sockets: every run starts cold
    control.mkdir()
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG), "ANSIBLE_HOST_KEY_CHECKING": "True",
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control), "ANSIBLE_HOME": str(base / "ansible-home"),
           "ANSIBLE_LOCAL_TEMP": str(base / "ansible-home" / "tmp"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_DEPRECATION_WARNINGS": "False"}
    argv = [program, "-i", str(paths["ini"]), "-f", str(len(names)), "--limit", ",".join(names), str(PLAYBOOK)]
    try:
        return measured(argv, hosts, env=env, after=lambda: close_masters(control))
    finally:
        close_masters(control)


def close_masters(control: Path) -> None:
    for socket_path in control.iterdir():
        subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "bench"],
                       capture_output=True, timeout=10)


def check_ansible(run: Run, names: list[str], what: str) -> None:
    recap = run.stdout.split("PLAY RECAP", 1)[-1]
    failed = [line for line in recap.splitlines()
              if line.split(":", 1)[0].strip() in names and ("failed=0" not in line or "unreachable=0" not in line)]
    counted = [line for line in recap.splitlines() if line.split(":", 1)[0].strip() in names]
    if run.returncode != 0 or failed or len(counted) != len(names):
        sys.exit(f"{what}: ansible-playbook exited {run.returncode}: {(failed or run.stdout[-800:] + run.stderr[-800:])}")


# --- the benchmark -----------------------------------------------------------------------------------


def median(values):
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of our runs (medians)")
    parser.add_argument("--ansible-rounds", type=int, default=2, help="rounds of the Ansible comparison")
    parser.add_argument("--budget", type=float, default=170.0, help="seconds; no new round starts past it")
    parser.add_argument("--no-ansible", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    cores = len(os.sched_getaffinity(0))
    program = None if args.no_ansible else ansible_playbook()
    if not args.no_ansible and program is None:
        print("ansible-core is not installed (pip install -e '.[bench]'): skipping the Ansible baseline")
    n = args.hosts
    subset = min(ANSIBLE_SUBSET, n)
    results = {k: [] for k in ("fleet", "one", "closed", "subset", "ansible1", "ansible_subset")}
    fleet_timings, one_timings, host_seconds = [], [], []

    with tempfile.TemporaryDirectory(prefix="fleet-audit-") as tmp:
        base = Path(tmp)
        client_key = base / "client_ed25519"
        try:
            keygen(client_key, "fleet-audit-bench")
            stack = sshd_hosts(n, base / "sshd", client_key)
            hosts = stack.__enter__()
        except SshdUnavailable as exc:
            sys.exit(f"cannot start sshd test hosts: {exc}")
        try:
            names = [h.name for h in hosts]
            paths = write_inventories(base, hosts, make_template(base))
            print(f"{n} sshd hosts on 127.0.0.2-{hosts[-1].address}, {cores} cores; "
                  f"setup {time.monotonic() - started:.1f} s", flush=True)
            fleet_argv = audit_argv(paths, n)
            one_argv = audit_argv(paths, 1, limit="web1")
            closed_argv = audit_argv(paths, 1, inventory=paths["closed"])
            subset_argv = audit_argv(paths, subset, limit=",".join(names[:subset]))

            # Warm-up (the file cache of every copy); also the first correctness check.
            check_ours(measured(fleet_argv, hosts), names, "warm-up fleet run")

            ours_block = ansible_block = 0.0
            for index in range(max(args.rounds, args.ansible_rounds if program else 0)):
                if index < args.rounds:
                    if index and time.monotonic() - started + ours_block > args.budget:
                        print(f"budget: stopping our runs after {index} round(s)")
                        break
                    block = time.monotonic()
                    fleet = measured(fleet_argv, hosts)
                    document = check_ours(fleet, names, "fleet run")
                    fleet_timings += [h["facts"]["probe"]["timings"] for h in document["hosts"]]
                    host_seconds += [float(line.split(" in ")[1].split("s")[0]) for line in fleet.stderr.splitlines()
                                     if ": ok in " in line]
                    results["fleet"].append(fleet)
                    one = measured(one_argv, hosts)
                    one_timings.append(check_ours(one, ["web1"], "one-host run")["hosts"][0]["facts"]["probe"]["timings"])
                    results["one"].append(one)
                    closed = measured(closed_argv, hosts)
                    if "closed" not in closed.stdout or closed.returncode != 1:
                        sys.exit(f"closed-port run: expected an unreachable host, got {closed.returncode}: "
                                 f"{closed.stderr.strip()[-300:]}")
                    results["closed"].append(closed)
                    run = measured(subset_argv, hosts)
                    check_ours(run, names[:subset], f"{subset}-host run")
                    results["subset"].append(run)
                    ours_block = time.monotonic() - block
                if program and index < args.ansible_rounds:
                    # Ours stays in every round; Ansible's 8-host run (the longest by far) only while
                    # the budget allows another after the first.
                    block = time.monotonic()
                    run = run_ansible(program, paths, hosts, names[:1], base, 2 * index + 1)
                    check_ansible(run, names[:1], "ansible on 1 host")
                    results["ansible1"].append(run)
                    if index and time.monotonic() - started + ansible_block + ours_block > args.budget:
                        print(f"budget: {index} Ansible run(s) on {subset} hosts only", flush=True)
                        continue
                    block = time.monotonic()
                    run = run_ansible(program, paths, hosts, names[:subset], base, 2 * index + 2)
                    check_ansible(run, names[:subset], f"ansible on {subset} hosts")
                    results["ansible_subset"].append(run)
                    ansible_block = time.monotonic() - block
        finally:
            stack.__exit__(None, None, None)
    report(args, cores, n, subset, results, fleet_timings, one_timings, host_seconds, program)
    print(f"\ntotal {time.monotonic() - started:.0f} s")


def stage_medians(timings: list[dict]) -> dict:
    stages: dict = {}
    for t in timings:
        for stage, value in t.items():
            stages.setdefault(stage, []).append(value)
    return {k: median(v) for k, v in stages.items()}


def report(args, cores, n, subset, results, fleet_timings, one_timings, host_seconds, program) -> None:
    fleet_wall = median([r.wall for r in results["fleet"]])
    one_wall = median([r.wall for r in results["one"]])
    closed_wall = median([r.wall for r in results["closed"]])
    fixed_local = median([r.local_cpu for r in results["closed"]])
    one_local = median([r.local_cpu for r in results["one"]])
    one_remote = median([r.remote_cpu["web1"] for r in results["one"]])
    per_host = (one_local - fixed_local) + one_remote
    cpu_floor = (fixed_local + n * per_host) / cores
    floor = max(one_wall, cpu_floor)
    fleet_local = median([r.local_cpu for r in results["fleet"]])
    fleet_remote = median([sum(r.remote_cpu.values()) for r in results["fleet"]])
    fleet_cpu = fleet_local + fleet_remote

    def ms(seconds, width=6):
        return f"{seconds * 1000:{width}.0f} ms"

    print(f"\nmedians of {len(results['fleet'])} round(s); every run checked: each host audited without error, "
          "exactly one 'Accepted publickey' per host in the run, none elsewhere")
    print(f"fleet, {n} hosts, --forks {n}:   wall {ms(fleet_wall)}   CPU here {ms(fleet_local)}, "
          f"on the hosts {ms(fleet_remote)} ({ms(fleet_remote / n, 0)} a host)")
    print(f"one host (--limit web1):       wall {ms(one_wall)}   CPU here {ms(one_local)}, on the host {ms(one_remote)}")
    print(f"fixed cost (closed port):      wall {ms(closed_wall)}   CPU here {ms(fixed_local)}")
    print(f"per-host CPU = ({one_local * 1000:.0f} - {fixed_local * 1000:.0f}) here + {one_remote * 1000:.0f} on the host"
          f" = {per_host * 1000:.0f} ms")
    print(f"CPU floor = ({fixed_local * 1000:.0f} + {n} x {per_host * 1000:.0f}) / {cores} cores = {cpu_floor * 1000:.0f} ms;"
          f" floor = max({one_wall * 1000:.0f}, {cpu_floor * 1000:.0f}) = {floor * 1000:.0f} ms")
    ratio = fleet_wall / floor
    print(f"ratio fleet / floor: {ratio:.2f}  (target <= 1.50: {'met' if ratio <= 1.5 else 'MISSED'})")
    print(f"  where the rest goes: the fleet burnt {fleet_cpu * 1000:.0f} ms CPU ({fleet_cpu / (n * per_host + fixed_local):.2f}x "
          f"the one-host estimate; {fleet_remote / n / one_remote:.2f}x on each host's side), i.e. "
          f"{fleet_cpu / cores * 1000:.0f} ms on {cores} cores, {fleet_cpu / cores / fleet_wall:.0%} of the wall time")
    foreign = median([r.foreign_cpu for r in results["fleet"]])
    steal = median([r.machine_cpu[1] for r in results["fleet"]])
    print(f"  other load on the machine during the fleet runs: {foreign * 1000:.0f} ms CPU "
          f"({foreign / cores / fleet_wall:.0%} of the {cores} cores), steal {steal * 1000:.0f} ms"
          + ("  <- disturbed: run again on a quiet machine" if foreign / cores / fleet_wall > 0.1 else ""))
    if host_seconds:
        print(f"  each host's own time in the fleet (start to report): median {median(host_seconds):.1f} s, "
              f"max {max(host_seconds):.1f} s (all {n} run at once)")
    one = stage_medians(one_timings)
    print(f"  one host alone: {ms(one_wall, 0)} = start-up here {ms(closed_wall, 0)} + probe {ms(one.get('total', 0) / 1000, 0)}"
          f" (Django setup {one.get('settings', 0) + one.get('setup', 0):.0f} ms, checks {one.get('checks', 0):.0f} ms)"
          f" + SSH handshake, hostfacts, report {ms(one_wall - closed_wall - one.get('total', 0) / 1000, 0)}")
    fleet = stage_medians(fleet_timings)
    print("  probe stages on the hosts during the fleet runs, median ms (alone): "
          + ", ".join(f"{k} {v:.0f} ({one.get(k, 0):.0f})" for k, v in fleet.items() if v >= 1))

    if program and results["ansible1"]:
        a1 = median([r.wall for r in results["ansible1"]])
        a8 = median([r.wall for r in results["ansible_subset"]])
        o8 = median([r.wall for r in results["subset"]])
        a1_remote = median([r.remote_cpu["web1"] for r in results["ansible1"]])
        a8_remote = median([sum(r.remote_cpu.values()) for r in results["ansible_subset"]])
        o8_remote = median([sum(r.remote_cpu.values()) for r in results["subset"]])
        logins = sorted({v for r in results["ansible1"] + results["ansible_subset"] for v in r.logins.values() if v})
        print("\nAnsible baseline (bench/ansible/audit.yml):")
        print(f"1 host:  ansible-playbook wall {ms(a1)}  vs invoke audit {ms(one_wall)}: {a1 / one_wall:5.1f}x"
              f"   CPU on the host {ms(a1_remote)} vs {ms(one_remote)}")
        print(f"{subset} hosts: ansible-playbook wall {ms(a8)}  vs invoke audit {ms(o8)}: {a8 / o8:5.1f}x"
              f"   CPU on the hosts {ms(a8_remote)} vs {ms(o8_remote)}")
        print(f"  SSH logins per host per ansible run (ControlPersist): {logins}; medians of "
              f"{len(results['ansible1'])} and {len(results['ansible_subset'])} run(s)")
        runs = results["ansible1"] + results["ansible_subset"]
        foreign = sum(r.foreign_cpu for r in runs) / sum(r.wall for r in runs) / cores
        print(f"  other load on the machine during the Ansible runs: {foreign:.0%} of the {cores} cores "
              "(includes the ControlPersist ssh masters, which are Ansible's own)")
        verdict = "met" if min(a1 / one_wall, a8 / o8) >= 4 else "MISSED"
        print(f"speed-up vs Ansible (target >= 4x on both): {verdict}")


if __name__ == "__main__":
    main()
