"""Shared fixtures: temp copies of the demo project, git repositories around them, and a way to
run the real command line (``invoke ...``) as a subprocess, the way a user or CI does."""

from __future__ import annotations

import hashlib
import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DEMO = REPO / "examples" / "thebot"
sys.path.insert(0, str(TESTS))


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(*args: str, cwd: Path = REPO, env: dict | None = None, timeout: float = 120) -> Run:
    """Run ``invoke ARGS`` from the repository root, as the README tells users to."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout
    )
    return Run(done.returncode, done.stdout, done.stderr)


def tree_digest(root: Path) -> dict[str, str]:
    """Path -> sha256 of every file below root: to prove that a run wrote nothing."""
    digest = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            digest[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def copy_demo(dest: Path) -> Path:
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_git_repo(project: Path, remote: Path | None = None, unpushed: int = 0) -> None:
    """Commit the project; with ``remote``, push main there and add ``unpushed`` local commits."""
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.email", "test@example.com")
    git(project, "config", "user.name", "Test")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    if remote is not None:
        git(remote.parent, "init", "-q", "--bare", remote.name)
        git(project, "remote", "add", "origin", str(remote))
        git(project, "push", "-q", "-u", "origin", "main")
    for number in range(unpushed):
        (project / "CHANGELOG").write_text(f"change {number}\n")
        git(project, "add", "CHANGELOG")
        git(project, "commit", "-q", "-m", f"change {number}")


@pytest.fixture
def demo(tmp_path) -> Path:
    """A fresh copy of the demo project, not in any git repository."""
    return copy_demo(tmp_path / "thebot")


STRICT_BLOCK = ("# >>> strict production settings\n", "# <<< strict production settings\n")


def make_lenient(project: Path) -> Path:
    """The demo without its production validation block: settings that import under any env."""
    settings = project / "backend" / "config" / "settings.py"
    text = settings.read_text()
    start, end = text.index(STRICT_BLOCK[0]), text.index(STRICT_BLOCK[1]) + len(STRICT_BLOCK[1])
    settings.write_text(text[:start] + text[end:])
    return project


@pytest.fixture
def lenient_demo(tmp_path) -> Path:
    """A fresh copy of the demo whose settings do not validate the production env (the demo as
    it was before it became strict): for tests of fix-prod on SQLite without a PostgreSQL URL."""
    return make_lenient(copy_demo(tmp_path / "thebot"))


@pytest.fixture
def lenient_git_demo(tmp_path) -> Path:
    """``lenient_demo`` in a git repository with 3 commits not pushed to its origin."""
    project = make_lenient(copy_demo(tmp_path / "thebot"))
    make_git_repo(project, remote=tmp_path / "origin.git", unpushed=3)
    return project


@pytest.fixture
def git_demo(tmp_path) -> Path:
    """A fresh copy of the demo in a git repository with 3 commits not pushed to its origin."""
    project = copy_demo(tmp_path / "thebot")
    make_git_repo(project, remote=tmp_path / "origin.git", unpushed=3)
    return project


POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _service_missing(what: str) -> None:
    """A test needing a service fails under CI (CI=true) and is skipped only on a laptop."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not available, and CI must not skip: .ci/run starts it")
    pytest.skip(f"{what} is not available")


@contextlib.contextmanager
def throwaway_database(prefix: str = "remediation_test"):
    """A new PostgreSQL database named ``<prefix>_<random>``, dropped afterwards; yields its name."""
    import uuid

    import psycopg  # in the test extra: a missing driver must fail, not skip
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **POSTGRES)
    except psycopg.OperationalError:
        _service_missing("PostgreSQL on 127.0.0.1:5432")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_db():
    """A throwaway PostgreSQL database, dropped afterwards; yields its name."""
    with throwaway_database() as name:
        yield name


@pytest.fixture
def redis_server():
    """Redis on 127.0.0.1:6379, answering PING."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(64).startswith(b"+PONG")
    except (OSError, AssertionError):
        _service_missing("Redis on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379"


OTHER_DEMO = TESTS / "data" / "projects" / "shopfront"


def project_env(project: Path, env_file: str = ".env") -> dict:
    """The variables of a project's env file, as python-dotenv reads them (to run its manage.py)."""
    from dotenv import dotenv_values

    return {k: v or "" for k, v in dotenv_values(project / env_file).items()}


def run_manage(project: Path, *args: str, env: dict | None = None, python: str = sys.executable) -> subprocess.CompletedProcess:
    """``manage.py ARGS`` in the project, with its development .env (or ``env``) in the environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environ.update(project_env(project) if env is None else env)
    return subprocess.run([python, "manage.py", *args], cwd=project, env=environ, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def other_demo(tmp_path) -> Path:
    """A fresh copy of the second demo project (tests/data/projects/shopfront: DB_* variables, Stripe,
    Sentry, S3; no DRF, Celery, Channels or cache; production validation on import), its SQLite
    database migrated and holding 3 products, under its development .env. Not in a git repository."""
    project = tmp_path / "shopfront"
    shutil.copytree(OTHER_DEMO, project, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "db.sqlite3"))
    for args in (("migrate", "--noinput", "-v0"), ("loaddata", "products", "-v0")):
        done = run_manage(project, *args)
        assert done.returncode == 0, done.stderr
    return project


@pytest.fixture(scope="session")
def demo_python(tmp_path_factory) -> str:
    """The python of a venv with exactly ``pip install .[demo]`` (psycopg2, no psycopg 3): what a
    user of the quick start runs the project with. Built once per session (shared by the xdist
    workers) from a wheel cache; see tests/demo_venv.py."""
    import demo_venv

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by every worker
    try:
        return str(demo_venv.shared_venv(root))
    except demo_venv.BuildError as exc:
        _service_missing(f"the demo venv ({exc})")


@pytest.fixture(params=["psycopg", "psycopg2"])
def driver_python(request) -> str:
    """The target project's interpreter, once per PostgreSQL driver: the test venv's own (psycopg 3,
    which Django prefers) and the demo venv's (psycopg2 only, what users of the quick start have)."""
    return sys.executable if request.param == "psycopg" else request.getfixturevalue("demo_python")
