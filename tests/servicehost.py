"""A host for the service tests: a venv the app user can run, a real supervisord, release
layouts with a tiny WSGI app and Celery app per release, and a steady HTTP load.

The app user is ``nobody``: the test interpreter lives under /root (mode 0700), which ``nobody``
cannot enter, so the releases' venv is built from the system's /usr/bin/python3 (from the demo
wheel cache, offline) in a world-readable folder under /tmp, as a host's venv would be.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

APP_USER, APP_GROUP = "nobody", "nogroup"
SYSTEM_PYTHON = "/usr/bin/python3"
SUPERVISORD, SUPERVISORCTL = "/usr/bin/supervisord", "/usr/bin/supervisorctl"

WEBAPP = '''\
import hashlib
import os

RELEASE = {release!r}
{broken}

def application(environ, start_response):
    if environ["PATH_INFO"] == "/secret":  # proves the program got the secret, without showing it
        body = hashlib.sha256(os.environ.get("APP_SECRET_KEY", "").encode()).hexdigest().encode()
    else:
        body = RELEASE.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''

TASKS = '''\
import os
import time

from celery import Celery

RELEASE = {release!r}
QUEUE = os.environ["QUEUE_DIR"]
app = Celery("tasks", broker="filesystem://", broker_transport_options={{
    "data_folder_in": QUEUE, "data_folder_out": QUEUE, "control_folder": QUEUE + "/control",
    "store_processed": True, "processed_folder": QUEUE + "/processed", "polling_interval": 0.2}})


@app.task(name="tasks.slow")
def slow(folder):
    with open(os.path.join(folder, "started"), "w") as handle:
        handle.write(RELEASE)
    deadline = time.monotonic() + 120  # runs until the test says so (it waits for the worker's TERM)
    while not os.path.exists(os.path.join(folder, "finish")) and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(os.path.join(folder, "done"), "w") as handle:
        handle.write(RELEASE)
'''


def world_dir(prefix: str) -> Path:
    """A folder under /tmp that the app user may enter (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


def app_user_can_run(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "pass"], user=APP_USER, group=APP_GROUP, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def build_app_venv(dest: Path) -> Path:
    """gunicorn, uvicorn-worker, Celery, Django and psycopg2 for the system Python, offline."""
    import demo_venv

    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(dest)], check=True, capture_output=True, timeout=300)
    demo_venv.pip(sys.executable, "--python", str(dest / "bin" / "python"), "install", "--quiet", "--no-compile",
                  "--no-index", "--find-links", str(demo_venv.wheel_cache()),
                  "gunicorn", "uvicorn-worker", "celery", "django", "psycopg2-binary", timeout=600)
    return dest


def need(program: str) -> None:
    """A tool the test needs: missing fails under CI, skips on a laptop (conftest's rule)."""
    from conftest import _service_missing

    if not shutil.which(program):
        _service_missing(program)


@pytest.fixture(scope="session")
def service_world():
    """One world-readable folder for the session: the app venv, and each test's DEPLOY_TO."""
    folder = world_dir("deploy-services-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def app_venv(service_world) -> Path:
    if not app_user_can_run(SYSTEM_PYTHON):
        from conftest import _service_missing

        _service_missing(f"{SYSTEM_PYTHON} with venv, runnable by {APP_USER}")
    return build_app_venv(service_world / "venv")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Deploy:
    """One app's DEPLOY_TO: releases sharing one venv, ``current``, shared/ with a 0600 env file."""

    def __init__(self, root: Path, venv: Path):
        self.root, self.venv = root, venv
        self.secret = "s3cr3t-" + secrets.token_hex(16)
        self.queue = root / "shared" / "queue"
        self.tasks = root / "shared" / "tasks"
        for folder in (self.queue, self.queue / "processed", self.tasks):
            folder.mkdir(parents=True)
            shutil.chown(folder, APP_USER, APP_GROUP)
        env = root / "shared" / ".env"
        env.write_text(f"APP_SECRET_KEY='{self.secret}'\nQUEUE_DIR={self.queue}\n")
        env.chmod(0o600)
        shutil.chown(env, APP_USER, APP_GROUP)

    def release(self, rid: str, broken: bool = False) -> Path:
        backend = self.root / "releases" / rid / "backend"
        backend.mkdir(parents=True)
        (backend / "webapp.py").write_text(WEBAPP.format(release=rid, broken="import nosuchmodule_for_this_test" if broken else ""))
        (backend / "tasks.py").write_text(TASKS.format(release=rid))
        (backend.parent / ".venv").symlink_to(self.venv)
        return backend.parent

    def switch(self, rid: str) -> None:
        """A new symlink under a temp name renamed over ``current``: atomic, as the deploy does."""
        temp = self.root / ".current.tmp"
        temp.symlink_to(f"releases/{rid}")
        os.replace(temp, self.root / "current")


@contextlib.contextmanager
def supervisord(folder: Path, conf_dir: Path):
    """A real supervisord with its own unix socket, including ``conf_dir/*.conf``; yields the
    supervisorctl argv. Stopping it stops every program it runs."""
    conf = folder / "supervisord.conf"
    conf.write_text(f"""[unix_http_server]
file={folder}/supervisor.sock
chmod=0700

[supervisord]
user=root
logfile={folder}/supervisord.log
pidfile={folder}/supervisord.pid
childlogdir={folder}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{folder}/supervisor.sock

[include]
files = {conf_dir}/*.conf
""")
    process = subprocess.Popen([SUPERVISORD, "-n", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctl = [SUPERVISORCTL, "-c", str(conf)]
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([*ctl, "pid"], capture_output=True, text=True).stdout.strip() != str(process.pid):
            assert process.poll() is None and time.monotonic() < deadline, "supervisord did not start"
            time.sleep(0.1)
        yield ctl
    finally:
        # supervisord stops its programs one after another (a Celery worker's warm shutdown alone
        # takes seconds): its shutdown is started first, then each program's main process gets
        # TERM at once (only those: a Celery pool child killed under its parent hangs the parent).
        programs = direct_children(process.pid)
        process.terminate()
        for pid in programs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:  # never leave this test's processes behind
            for pid in [*children(process.pid), process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait(timeout=30)
            raise


def child_map() -> dict[int, list[int]]:
    """pid -> its children's pids, read from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_bytes()
                parents.setdefault(int(stat[stat.rfind(b")") + 2:].split()[1]), []).append(int(entry))
    return parents


def direct_children(pid: int) -> list[int]:
    return child_map().get(pid, [])


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    parents = child_map()
    found, todo = [], list(parents.get(pid, []))
    while todo:
        found.append(todo.pop())
        todo.extend(parents.get(found[-1], []))
    return found


def all_command_lines() -> str:
    """Every process's argv on this machine, as ``ps`` shows them."""
    lines = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                lines.append(Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace"))
    return "\n".join(lines)


def get(port: int, path: str = "/") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


class Load(threading.Thread):
    """~``rate`` requests a second, a new connection each (keep-alive off); every answer kept with
    the time its request was sent: (sent, status or None, body or the error)."""

    def __init__(self, port: int, rate: float = 50):
        super().__init__(daemon=True)
        self.port, self.interval, self.answers = port, 1 / rate, []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            sent = time.monotonic()
            try:
                status, body = get(self.port)
                self.answers.append((sent, status, body))
            except OSError as exc:
                self.answers.append((sent, None, f"{type(exc).__name__}: {exc}"))
            self.stopping.wait(max(0.0, self.interval - (time.monotonic() - sent)))

    def stop(self) -> list:
        self.stopping.set()
        self.join(timeout=30)
        return self.answers

    @staticmethod
    def failed(answers) -> list:
        return [answer for answer in answers if answer[1] != 200]
