"""The interpreter a user of the quick start has: a venv with exactly ``pip install .[demo]``.

The test extra adds psycopg 3, which Django and our code prefer, so a target project run with the
test venv's own interpreter never takes the psycopg2 path that users of the quick start are on.
This builds a venv with the demo extra only (psycopg2-binary, no psycopg 3) for the end-to-end
tests to pass as ``--python``.

Two layers, so nothing is downloaded per test or per session:

- a wheel cache, ``pip wheel`` once per pyproject: every requirement of the toolkit and of its
  ``demo`` extra, plus the build backend (so the toolkit itself builds offline); kept under
  ``$REMEDIATION_TEST_CACHE`` (default ``~/.cache/django-remediation-tests``) in a folder named by
  the hash of ``pyproject.toml`` and the Python version;
- a venv, once per test session (under pytest's basetemp, shared by the xdist workers through a
  file lock), installed from that cache only (``--no-index --find-links``), with the toolkit
  built from a copy of this checkout's sources (so the checkout gets no ``build/`` folder).

``.ci/run`` runs ``python tests/demo_venv.py`` before the tests (the same code as the fixture) so
the cache is warm; by hand, ``python tests/demo_venv.py --venv DIR`` also builds a venv in DIR.

Why by hand and not a library (nox, tox, virtualenv): the standard library's ``venv`` and pip are
all this needs, and the test venv would otherwise need one more tool.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = REPO / "pyproject.toml"
DONE = ".complete"


class BuildError(RuntimeError):
    """pip could not build the wheel cache or the venv (say, no registry); the message is one line."""


def cache_root() -> Path:
    configured = os.environ.get("REMEDIATION_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "django-remediation-tests"


def cache_key() -> str:
    digest = hashlib.sha256(PYPROJECT.read_bytes())
    digest.update(f"{sys.implementation.cache_tag}-{sys.platform}-{host_pythons()}-2".encode())
    return digest.hexdigest()[:16]


def requirements() -> list[str]:
    """What ``pip install .[demo]`` pulls in, and what building the toolkit needs."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return [*project["build-system"]["requires"], "wheel", *project["project"]["dependencies"],
            *project["project"]["optional-dependencies"]["demo"]]


@contextlib.contextmanager
def locked(path: Path):
    """An exclusive lock between processes (xdist workers, parallel sessions); freed when we die."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pip(python: str | Path, *args: str, timeout: float) -> None:
    done = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise BuildError(f"pip failed: {lines[-1].strip() if lines else done.returncode}")


def host_pythons() -> list[str]:
    """Other interpreters that install from the cache: /usr/bin/python3, the deploy tests' host Python
    (its markers may differ from ours: 3.11.2 needs async-timeout where 3.11.7 does not)."""
    system = "/usr/bin/python3"
    if not os.path.exists(system) or os.path.realpath(system) == os.path.realpath(sys.executable):
        return []
    return [system]


def wheel_cache() -> Path:
    """The folder of wheels for this pyproject, built (downloading) only when it is missing."""
    folder = cache_root() / f"demo-wheels-{cache_key()}"
    if (folder / DONE).exists():
        return folder
    with locked(cache_root() / "demo-wheels.lock"):
        if (folder / DONE).exists():
            return folder
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        pip(sys.executable, "wheel", "--quiet", "--wheel-dir", str(partial), *requirements(), timeout=900)
        for python in host_pythons():  # the deploy tests' hosts build venvs with the system's Python
            pip(sys.executable, "--python", python, "wheel", "--quiet", "--wheel-dir", str(partial),
                "--find-links", str(partial), *requirements(), "pip", "setuptools", timeout=900)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        (folder / DONE).write_text("")
    return folder


SOURCES = ("pyproject.toml", "setup.py", "README.md", "remediation", "templates", "examples")  # what the wheel holds


def copy_sources(dest: Path) -> None:
    """What building the toolkit reads (setup.py maps templates/ and examples/ into the package)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".remediation")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, dest / name)


def build_venv(dest: Path) -> Path:
    """A venv at ``dest`` with exactly ``pip install .[demo]`` from the wheel cache; its python."""
    python = dest / "bin" / "python"
    if (dest / DONE).exists():
        return python
    wheels = wheel_cache()
    shutil.rmtree(dest, ignore_errors=True)
    # No pip inside (ensurepip costs more than the rest): this interpreter's pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True, capture_output=True,
                   timeout=300)
    source = dest.with_name(dest.name + "-src")
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    copy_sources(source)
    pip(sys.executable, "--python", str(python), "install", "--quiet", "--no-compile", "--no-index",
        "--find-links", str(wheels), f"{source}[demo]", timeout=900)
    shutil.rmtree(source, ignore_errors=True)
    # The probe runs with `python -B`: without these every probe would compile Django anew.
    subprocess.run([str(python), "-m", "compileall", "-q", "-j", "0", str(dest / "lib")], capture_output=True,
                   timeout=900)
    (dest / DONE).write_text("")
    return python


def shared_venv(root: Path) -> Path:
    """The session's venv under ``root``, built by whichever process gets the lock first."""
    with locked(root / "demo-venv.lock"):
        failed = root / "demo-venv.failed"
        if failed.exists():  # another worker tried already: do not pay the timeouts twice
            raise BuildError(failed.read_text())
        try:
            return build_venv(root / "demo-venv")
        except (BuildError, subprocess.SubprocessError, OSError) as exc:
            failed.write_text(str(exc) if isinstance(exc, BuildError) else f"{type(exc).__name__}: {exc}")
            raise BuildError(failed.read_text()) from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, help="also build the venv in this folder")
    args = parser.parse_args()
    try:
        print(f"demo wheels: {wheel_cache()}")
        if args.venv:
            print(f"demo venv: {build_venv(args.venv.absolute())}")
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
