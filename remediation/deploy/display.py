"""What a person sees while a deploy runs: each host's current step and its elapsed time.

On a terminal, a rich ``Live`` table redrawn a few times a second; elsewhere (CI logs, pipes), one
plain line per step as it starts and ends, so the log reads top to bottom. Everything goes to
stderr: stdout is kept for the report (``--format json``). Project text is printed as data
(``rich.text.Text``), never as markup.
"""

from __future__ import annotations

import sys
import threading
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text


class Display:
    def __init__(self, hosts: list[str], enabled: bool = True):
        self.console = Console(file=sys.stderr)
        self.live_mode = enabled and self.console.is_terminal
        self.enabled = enabled
        self.state = {name: ("waiting", time.monotonic(), "") for name in hosts}
        self.lock = threading.Lock()
        self.live = None

    def __enter__(self):
        if self.live_mode:
            self.live = Live(self._table(), console=self.console, refresh_per_second=4, transient=True,
                             get_renderable=self._table)
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.__exit__(*exc)

    def _table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold")
        for column in ("host", "step", "elapsed", ""):
            table.add_column(column)
        now = time.monotonic()
        with self.lock:
            for name, (step, since, note) in self.state.items():
                table.add_row(Text(name), Text(step), f"{now - since:5.1f}s", Text(note))
        return table

    def step(self, host: str, step: str, note: str = "") -> None:
        with self.lock:
            self.state[host] = (step, time.monotonic(), note)
        if self.enabled and not self.live_mode:
            self.line(f"[{host}] {step}" + (f": {note}" if note else ""))

    def done(self, host: str, step: str, status: str, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.state[host] = (f"{step}: {status}", time.monotonic(), detail[:80])
        if self.enabled and not self.live_mode:
            self.line(f"[{host}] {step}: {status} in {seconds:.1f}s" + (f" ({detail})" if detail else ""))

    def line(self, text: str) -> None:
        if not self.enabled:
            return
        with self.lock:
            if self.live is not None:
                self.live.console.print(Text(text))
            else:
                print(text, file=sys.stderr, flush=True)
