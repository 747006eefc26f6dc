"""What sharing one SECRET_KEY costs a fleet run: fix-prod -i with a secret_key_group against the
same hosts without one, in one run.

    python bench/fleet_keys.py [--rounds N] [--hosts N]

Real sshd hosts on loopback (tests/sshd.py), each with a copy of the demo (its production
validation block removed, so it runs on SQLite); fix-prod repairs them once, then the two
inventories alternate, nothing left to do. The difference is the set's read (one more SSH
connection per host: the files around the project and the production env, no probe).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from timing import timed  # noqa: E402
sys.path.insert(0, str(REPO / "tests"))

from conftest import copy_demo, make_lenient  # noqa: E402
from sshd import sshd_hosts  # noqa: E402


def inventory(folder: Path, hosts, projects, group) -> Path:
    data = {"hosts": {}, "groups": {"web": {"hosts": [h.name for h in hosts], "vars": {"domains": ["thebot.example.com"]}}}}
    if group:
        data["groups"]["web"]["vars"]["secret_key_group"] = group
    for host, project in zip(hosts, projects):
        data["hosts"][host.name] = {"address": host.address, "port": host.port, "user": host.user,
                                    "key": str(host.client_key), "project": str(project), "python": sys.executable}
    path = folder / f"inventory-{group or 'none'}.yml"
    path.write_text(yaml.safe_dump(data))
    return path



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sshd_hosts(args.hosts, Path(tmp) / "sshd") as hosts:
        folder = Path(tmp)
        projects = [make_lenient(copy_demo(folder / f"{h.name}-thebot")) for h in hosts]
        known = folder / "known_hosts"
        known.write_text("".join(h.known_hosts_line + "\n" for h in hosts))
        shared, alone = inventory(folder, hosts, projects, "thebot"), inventory(folder, hosts, projects, None)
        command = [sys.executable, "-m", "invoke", "fix-prod", "--known-hosts", str(known), "--format", "json", "-i"]
        first = timed([*command, str(shared)])
        ours, base = [], []
        for _ in range(args.rounds):
            ours.append(timed([*command, str(shared)]))
            base.append(timed([*command, str(alone)]))
    o, b = statistics.median(ours), statistics.median(base)
    print(f"first run (repairs, one key for {args.hosts} hosts) {first * 1000:7.0f} ms")
    print(f"fix-prod -i, no secret_key_group     median {b * 1000:7.0f} ms  ({args.rounds} rounds)")
    print(f"fix-prod -i, one secret_key_group    median {o * 1000:7.0f} ms")
    print(f"ratio with / without the set: {o / b:.2f}")


if __name__ == "__main__":
    main()
