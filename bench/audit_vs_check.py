"""Audit wall time against a bare `manage.py check --deploy` on the same project, in one run.

    python bench/audit_vs_check.py [--project PATH] [--rounds N]

Both commands run alternately on a temp copy of the demo (or PROJECT), so machine noise hits
both alike; the ratio of the medians is the number the issue asks for (at most 1.3).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from timing import timed  # noqa: E402
sys.path.insert(0, str(REPO))

from remediation.facts import find_manage_dir  # noqa: E402
from remediation.runner import DEMO_PROJECT  # noqa: E402



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=None)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(args.project) if args.project else Path(shutil.copytree(DEMO_PROJECT, Path(tmp) / "thebot"))
        manage_dir = find_manage_dir(project)
        check = [sys.executable, "manage.py", "check", "--deploy"]
        audit = [sys.executable, "-m", "invoke", "audit", "--project", str(project), "--format", "json"]
        timed(check, manage_dir), timed(audit, REPO)  # warm the file cache for both
        checks, audits = [], []
        for _ in range(args.rounds):
            checks.append(timed(check, manage_dir))
            audits.append(timed(audit, REPO))
    base, ours = statistics.median(checks), statistics.median(audits)
    print(f"manage.py check --deploy  median {base * 1000:7.0f} ms  ({args.rounds} rounds)")
    print(f"invoke audit (json)       median {ours * 1000:7.0f} ms")
    print(f"ratio audit / check --deploy: {ours / base:.2f}  (target <= 1.30)")


if __name__ == "__main__":
    main()
