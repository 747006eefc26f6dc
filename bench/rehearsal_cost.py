"""What rehearsing the migrations costs: fix-prod with the rehearsal against fix-prod without it.

    python bench/rehearsal_cost.py [--rounds N] [--no-postgres]

Each round takes two fresh temp copies of the demo (and, for PostgreSQL, two fresh empty
databases on 127.0.0.1:5432, user postgres) and runs the repairing `invoke fix-prod` on both,
one with `--no-rehearsal`, in alternating order; every run must have applied the migrations.
It prints the medians and their ratio, for SQLite (the demo's db.sqlite3, 3 unapplied
migrations) and PostgreSQL (`--database-url` to an empty database: every migration).
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
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "thebot"


def fix_prod(project: Path, *args: str) -> float:
    argv = [sys.executable, "-m", "invoke", "fix-prod", "--project", str(project), "--domain", "thebot.example.com",
            "--format", "json", *args]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    fixes = {f["name"]: f for f in json.loads(done.stdout)["hosts"][0]["fixes"]} if done.stdout.startswith("{") else {}
    migrate = fixes.get("migrate", {})
    if migrate.get("status") != "changed":
        sys.exit(f"fix-prod {' '.join(args)} did not migrate: {migrate or done.stderr.strip()[-300:]}")
    if ("rehearsed" in migrate["message"]) == ("--no-rehearsal" in args):
        sys.exit(f"unexpected migrate message: {migrate['message']}")
    return elapsed


class Postgres:
    def __init__(self):
        import psycopg

        self.admin = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True)
        self.made: list[str] = []

    def new(self) -> str:
        name = f"bench_rehearsal_{uuid.uuid4().hex[:10]}"
        self.admin.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return f"postgres://postgres@127.0.0.1:5432/{name}"

    def close(self):
        for name in self.made:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


def measure(rounds: int, tmp: Path, extra) -> tuple[list[float], list[float]]:
    with_rehearsal, without = [], []
    for number in range(rounds):
        runs = [("rehearsal", ()), ("none", ("--no-rehearsal",))]
        if number % 2:
            runs.reverse()
        for kind, flags in runs:
            project = Path(shutil.copytree(DEMO, tmp / f"{kind}-{number}-{uuid.uuid4().hex[:6]}",
                                           ignore=shutil.ignore_patterns("__pycache__")))
            (with_rehearsal if kind == "rehearsal" else without).append(fix_prod(project, *flags, *extra()))
    return with_rehearsal, without


def report(label: str, with_rehearsal: list[float], without: list[float]) -> None:
    ours, base = statistics.median(with_rehearsal), statistics.median(without)
    print(f"{label:10} fix-prod --no-rehearsal median {base * 1000:7.0f} ms  ({len(without)} rounds)")
    print(f"{label:10} fix-prod (rehearsal)    median {ours * 1000:7.0f} ms  (+{(ours - base) * 1000:.0f} ms)")
    print(f"{label:10} ratio with / without rehearsal: {ours / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        report("SQLite", *measure(args.rounds, tmp, lambda: ()))
        if not args.no_postgres:
            pg = Postgres()
            try:
                report("PostgreSQL", *measure(args.rounds, tmp, lambda: ("--database-url", pg.new())))
            finally:
                pg.close()


if __name__ == "__main__":
    main()
