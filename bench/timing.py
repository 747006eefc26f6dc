"""One timed command for the benchmarks: wall seconds of ``argv``; any exit but 0 (ready) or 1
(blocked) stops the benchmark with the command's last words, so a broken run is never timed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(argv, cwd=REPO) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(map(str, argv))} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return elapsed
