"""The committed-secret scan's cost: a 1,000-commit repository, first audit and cached audits
against the same audit with the scan turned off (REMEDIATION_SECRET_SCAN=0).

    python bench/secret_scan.py [--commits N] [--rounds N]

A temp copy of the demo gets N commits (git fast-import: each changes one of 40 modules by
~20 lines, every 50th adds a token, every 100th a password in its message). Then, alternately, the
audit without the scan and the audit with a warm cache run ``--rounds`` times; the ratio of the
medians is the issue's number (a second audit <= 1.1x an audit without the scan). The scan alone,
in-process, is timed too: cold cache and warm.
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(REPO))

from remediation.runner import DEMO_PROJECT  # noqa: E402

CODE = ("def handler_{n}(request):\n    value = request.GET.get('q', '')\n    total = sum(int(x) for x in value.split(',') if x)\n"
        "    return {{'total': total, 'name': 'handler_{n}', 'path': '/api/v1/items/{n}/'}}\n\n")


def git(cwd, *args, input=None):
    done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=True)
    return done.stdout.decode()


def make_history(project: Path, commits: int) -> None:
    with (project / ".gitignore").open("a") as handle:
        handle.write(".env\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "-c", "user.email=b@example.com", "-c", "user.name=bench", "add", "-A")
    git(project, "-c", "user.email=b@example.com", "-c", "user.name=bench", "commit", "-q", "-m", "initial")
    modules: dict[str, str] = {}
    stream = []
    for number in range(1, commits):
        path = f"backend/benchmod/module_{number % 40:02d}.py"
        text = modules.get(path, "")
        for line in range(5):
            text += CODE.format(n=number * 10 + line)
        if number % 50 == 0:
            text += f'SERVICE_TOKEN = "ghp_{number:06d}Zq8Lk2Vx9Pw4Rt7Yu1Io3As5Df6Gh0Jk"\n'
        modules[path] = text
        message = f"change {number}" + (f"\n\npassword={'Pw' + str(number) * 3}x" if number % 100 == 0 else "")
        data = text.encode()
        stream.append(f"commit refs/heads/main\ncommitter bench <b@example.com> {1700000000 + number} +0000\n"
                      f"data {len(message.encode())}\n{message}\n"
                      + ("from refs/heads/main^0\n" if number == 1 else "")
                      + f"M 100644 inline {path}\ndata {len(data)}\n")
        stream.append(data)
        stream.append(b"\n")
    payload = b"".join(part if isinstance(part, bytes) else part.encode() for part in stream)
    git(project, "fast-import", "--quiet", input=payload)
    git(project, "reset", "-q", "--hard", "main")


def timed(project: Path, env: dict) -> tuple[float, float]:
    """(wall, CPU of the audit's processes) of one audit: CPU is what a loaded machine distorts least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "invoke", "audit", "--project", str(project), "--format", "json"],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ, **env})
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"audit failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(shutil.copytree(DEMO_PROJECT, Path(tmp) / "thebot", ignore=shutil.ignore_patterns("__pycache__")))
        make_history(project, args.commits)
        print(f"repository: {git(project, 'rev-list', '--count', 'HEAD').strip()} commits, "
              f"{len(git(project, 'ls-files').split())} files")

        from remediation.secretscan import scan
        from remediation.transport import Local

        for label, folder in (("cold", Path(tmp) / "scan-cache"), ("warm", Path(tmp) / "scan-cache")):
            start = time.perf_counter()
            result = scan(Local(), str(project), {}, cache_folder=folder)
            print(f"scan alone, {label} cache: {(time.perf_counter() - start) * 1000:7.0f} ms  {result['stats']}, "
                  f"{len(result['hits'])} places found")

        cache = {"XDG_CACHE_HOME": str(Path(tmp) / "xdg")}
        off = {**cache, "REMEDIATION_SECRET_SCAN": "0"}
        timed(project, off)  # warm the file cache and the interpreter's bytecode
        first = timed(project, cache)
        second, baseline = [], []
        for _ in range(args.rounds):
            baseline.append(timed(project, off))
            second.append(timed(project, cache))
    for what, index in (("wall", 0), ("CPU", 1)):
        base = statistics.median(b[index] for b in baseline)
        warm = statistics.median(w[index] for w in second)
        print(f"{what}: audit, scan off             median {base * 1000:7.0f} ms  ({args.rounds} rounds)")
        print(f"{what}: audit, first run (cold)            {first[index] * 1000:7.0f} ms  ({first[index] / base:.2f}x)")
        print(f"{what}: audit, second run (cached)  median {warm * 1000:7.0f} ms")
        print(f"{what}: ratio second audit / audit without the scan: {warm / base:.2f}  (target <= 1.10)")

if __name__ == "__main__":
    main()
