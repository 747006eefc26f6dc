"""The toolkit as a user gets it: the wheel built from this checkout's sources, installed with its
``demo`` extra into a fresh venv outside the checkout, offline from the wheel cache of
tests/demo_venv.py (nothing is downloaded per test). Built once per session, shared by the xdist
workers through a file lock, as the demo venv is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import demo_venv
from demo_venv import DONE, BuildError, copy_sources, locked, pip, wheel_cache


@dataclass
class Installed:
    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict:
        """A user's shell with the venv activated: its bin first on PATH, nothing of the checkout."""
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("DJANGO_", "PYTHON", "VIRTUAL_ENV", "REMEDIATION_"))}
        environ["PATH"] = f"{self.bin}{os.pathsep}{environ.get('PATH', '')}"
        environ["VIRTUAL_ENV"] = str(self.venv)
        return environ

    def run(self, *args: str, cwd: Path, timeout: float = 300, shell: bool = False) -> subprocess.CompletedProcess:
        command = args[0] if shell else list(args)
        return subprocess.run(command, cwd=cwd, env=self.env(), capture_output=True, text=True, timeout=timeout,
                              shell=shell, executable="/bin/bash" if shell else None)


def build_wheel(dest: Path, wheels: Path) -> Path:
    """``pip wheel --no-deps`` of a copy of the sources (the checkout gets no build/ folder)."""
    source = dest / "src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    copy_sources(source)
    out = dest / "dist"
    shutil.rmtree(out, ignore_errors=True)
    pip(sys.executable, "wheel", "--quiet", "--no-deps", "--no-index", "--find-links", str(wheels),
        "--wheel-dir", str(out), str(source), timeout=600)
    shutil.rmtree(source, ignore_errors=True)
    (wheel,) = out.glob("django_remediation-*.whl")
    return wheel


def install(root: Path) -> Installed:
    """The wheel and a venv with ``pip install WHEEL[demo]``, under ``root`` (pytest's basetemp)."""
    venv = root / "wheel-venv"
    wheels = wheel_cache()
    if not (venv / DONE).exists():
        shutil.rmtree(venv, ignore_errors=True)
        wheel = build_wheel(root / "wheel-build", wheels)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True,
                       timeout=300)
        pip(sys.executable, "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-compile",
            "--no-index", "--find-links", str(wheels), f"{wheel}[demo]", timeout=900)
        # The probe runs with `python -B`: compiled once here, not by every probe.
        subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(venv / "lib")],
                       capture_output=True, timeout=900)
        (venv / DONE).write_text(str(wheel))
    return Installed(Path((venv / DONE).read_text()), venv)


def shared_install(root: Path) -> Installed:
    with locked(root / "wheel-venv.lock"):
        failed = root / "wheel-venv.failed"
        if failed.exists():
            raise BuildError(failed.read_text())
        try:
            return install(root)
        except (BuildError, subprocess.SubprocessError, OSError, ValueError) as exc:
            failed.write_text(str(exc) if isinstance(exc, BuildError) else f"{type(exc).__name__}: {exc}")
            raise BuildError(failed.read_text()) from None


def installed(tmp_path_factory) -> Installed:
    """The test modules' ``installed`` fixture: one wheel venv per session, shared by the xdist workers."""
    import pytest

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    try:
        return shared_install(root)
    except BuildError as exc:
        pytest.fail(f"the wheel venv could not be built: {exc}")


__all__ = ["Installed", "build_wheel", "install", "installed", "shared_install", "demo_venv"]
