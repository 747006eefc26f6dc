"""All report formats from one audit against one format's audit, on the same project.

    python bench/formats.py [--project PATH] [--rounds N]

`invoke audit` (text, the default), `invoke audit --format json` and `invoke audit --format text
--format json:F --format markdown:F --format junit:F --format sarif:F` run in turn on a temp copy
of the demo (or PROJECT), so machine noise hits all alike; the ratio of the medians against the
default text audit is the issue's number (at most 1.05), against json too: the run happens once,
each format only renders the same reports. Each writer's render cost alone is printed too.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from timing import timed  # noqa: E402
sys.path.insert(0, str(REPO))

from remediation.findings import Severity  # noqa: E402
from remediation.report import WRITERS, render  # noqa: E402
from remediation.runner import DEMO_PROJECT, audit_project  # noqa: E402



def render_cost(project: Path, rounds: int) -> dict[str, float]:
    """Milliseconds each writer takes on one audit's reports (median of ``rounds``)."""
    report, secrets = audit_project(str(project))
    costs = {}
    for fmt in WRITERS:
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            render(fmt, [report], Severity.HIGH, secrets)
            samples.append(time.perf_counter() - start)
        costs[fmt] = statistics.median(samples) * 1000
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=None)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(args.project) if args.project else Path(shutil.copytree(DEMO_PROJECT, Path(tmp) / "thebot"))
        out = Path(tmp) / "out"
        out.mkdir()
        base = [sys.executable, "-m", "invoke", "audit", "--project", str(project)]
        commands = {
            "text (default)": base,
            "json": base + ["--format", "json"],
            "text+json+md+junit+sarif": base + ["--format", "text"] + [
                arg for fmt in ("json", "markdown", "junit", "sarif") for arg in ("--format", f"{fmt}:{out / fmt}")],
        }
        for argv in commands.values():
            timed(argv)  # warm the file cache for each
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                samples[name].append(timed(argv))
        costs = render_cost(project, args.rounds)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"audit, {name:<26} median {value * 1000:7.0f} ms  ({args.rounds} rounds)")
    print("render only (ms): " + ", ".join(f"{fmt} {ms:.1f}" for fmt, ms in costs.items()))
    every = medians["text+json+md+junit+sarif"]
    print(f"ratio all formats / text audit: {every / medians['text (default)']:.3f}  (target <= 1.05)")
    print(f"ratio all formats / json audit: {every / medians['json']:.3f}")


if __name__ == "__main__":
    main()
