"""Transports: the only code that touches a host.

``Local`` runs on this machine. The SSH transport (fabric) offers the same small interface, so
everything above it (facts, checks, fixes) is written once for both.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import probe as probe_module

# Fixed, secret-free bootstrap: the config (which may carry env values) and the probe's source
# both travel over stdin, so nothing sensitive shows in a process list or is left on disk.
PROBE_BOOTSTRAP = (
    "import sys, json; config = json.loads(sys.stdin.readline()); source = sys.stdin.read(); "
    "exec(compile(source, 'remediation-probe.py', 'exec'), "
    "{'__name__': '__main__', 'PROBE_CONFIG': config})"
)


class TransportError(Exception):
    """A host could not do what was asked (missing interpreter, timeout, lost connection)."""


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class Local:
    name = "localhost"

    def run(self, argv: list[str], *, input: str | None = None, timeout: float | None = None, env=None, cwd=None) -> Result:
        try:
            done = subprocess.run(
                argv, input=input, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd
            )
        except FileNotFoundError:
            raise TransportError(f"{argv[0]}: no such program") from None
        except PermissionError:
            raise TransportError(f"{argv[0]}: not executable") from None
        except subprocess.TimeoutExpired:
            raise TransportError(f"{argv[0]}: no answer within {timeout:g}s") from None
        return Result(done.returncode, done.stdout, done.stderr)

    def run_probe(self, python: str, config: dict, timeout: float = 300) -> dict:
        """Stream the probe to ``python`` and return its JSON document."""
        source = Path(probe_module.__file__).read_text(encoding="utf-8")
        payload = json.dumps(config) + "\n" + source
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        result = self.run([python, "-c", PROBE_BOOTSTRAP], input=payload, timeout=timeout, env=env)
        return parse_probe_output(result, python)


def parse_probe_output(result: Result, python: str) -> dict:
    marker = result.stdout.rfind(probe_module.MARKER)
    if marker < 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise TransportError(f"{python}: the probe did not run ({last[:200]})")
    return json.loads(result.stdout[marker + len(probe_module.MARKER):])
