"""Audit of a 10,000-line env file against the audit of the demo's own env, in one run.

    python bench/big_env.py [--lines 10000] [--rounds 7]

Both audits run alternately on one temp copy of the demo: ``--env-file small.env`` (the demo's
``.env``) and ``--env-file big.env`` (the same lines plus LINES more: plain values, secret-named
values, URLs with passwords, comments, quoted values). The project's settings keep loading their
own small ``.env`` (python-dotenv's ``load_dotenv`` walks the whole process environment once per
binding, so a project whose *own* .env has 10,000 lines is quadratic by itself, with or without
us). Prints medians of wall time and of CPU time (user+sys of the audit and every process under it,
from ``getrusage(RUSAGE_CHILDREN)``), which a loaded machine disturbs less, and both ratios (the
issue's target: at most 1.2). Also times each part on our side in-process: parsing the env,
finding its secrets, scrubbing the report.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from remediation.runner import DEMO_PROJECT  # noqa: E402


def big_env_text(base: str, lines: int) -> str:
    out = [base.rstrip("\n")]
    for number in range(lines):
        kind = number % 5
        if kind == 0:
            out.append(f"FEATURE_{number}=value-{number}-abcdefgh")
        elif kind == 1:
            out.append(f"SERVICE_{number}_TOKEN=tok{number:08d}xyzzy{number * 7919 % 100003}")
        elif kind == 2:
            out.append(f"UPSTREAM_{number}_URL=postgres://user{number}:pw{number}secret@db{number}.internal:5432/app")
        elif kind == 3:
            out.append(f"# comment {number}")
        else:
            out.append(f"QUOTED_{number}='a value with spaces {number}'")
    return "\n".join(out) + "\n"


def timed(argv) -> tuple[float, float]:
    """(wall, CPU of the process tree) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def parts(text: str) -> dict[str, float]:
    """Our side's work on the big env, in-process, in ms."""
    from remediation.facts import parse_env_text
    from remediation.masking import scrub, secret_values

    start = time.perf_counter()
    env = parse_env_text(None, text)
    parsed = time.perf_counter()
    found = secret_values(env.values)
    secrets_found = time.perf_counter()
    document = json.dumps(env.to_dict())
    scrub(document, found)
    scrubbed = time.perf_counter()
    return {"parse": (parsed - start) * 1000, "secret_values": (secrets_found - parsed) * 1000,
            "to_dict+scrub": (scrubbed - secrets_found) * 1000, "values": len(env.values), "secrets": len(found)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(shutil.copytree(DEMO_PROJECT, Path(tmp) / "thebot"))
        base = (project / ".env").read_text()
        small, big = Path(tmp) / "small.env", Path(tmp) / "big.env"
        small.write_text(base)
        big.write_text(big_env_text(base, args.lines))
        audit = [sys.executable, "-m", "invoke", "audit", "--project", str(project), "--format", "json", "--env-file"]
        timed(audit + [str(small)]), timed(audit + [str(big)])  # warm the file cache
        runs = {"small": [], "big": []}
        for _ in range(args.rounds):
            runs["small"].append(timed(audit + [str(small)]))
            runs["big"].append(timed(audit + [str(big)]))
        split = parts(big.read_text())
    wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
    print(f"audit, demo env ({len(base.splitlines())} lines)   wall {wall['small'] * 1000:6.0f} ms  CPU {cpu['small'] * 1000:6.0f} ms")
    print(f"audit, {args.lines}-line env        wall {wall['big'] * 1000:6.0f} ms  CPU {cpu['big'] * 1000:6.0f} ms")
    print(f"ratio big / demo: wall {wall['big'] / wall['small']:.2f}, CPU {cpu['big'] / cpu['small']:.2f}  "
          f"(target <= 1.20; {args.rounds} rounds, medians)")
    print("our side on the big env, in-process: " + ", ".join(
        f"{k} {v:.0f} ms" if isinstance(v, float) else f"{k} {v}" for k, v in split.items()))
    with open("/proc/loadavg") as handle:
        print(f"load average at the end: {handle.read().split()[0]}")


if __name__ == "__main__":
    main()
