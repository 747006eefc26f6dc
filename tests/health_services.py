"""Real services for tests/test_deploy_health.py: processes started in their own session and
killed with their group, a throwaway PostgreSQL database, a Redis that requires a password, and a
standard-library HTTP server answering what the health check must call a failure."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import _service_missing, throwaway_database

REDIS_PASSWORD = "planted-redis-pw-7291"  # the private Redis requires it (the shared one has none)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_up() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(64).startswith(b"+PONG")
    except (OSError, AssertionError):
        _service_missing("Redis on 127.0.0.1:6379")


@pytest.fixture(scope="module")
def database():
    """A throwaway PostgreSQL database for this module (what conftest's postgres_db makes per test)."""
    with throwaway_database("remediation_health") as name:
        yield name


def start(argv: list[str], cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    with open(log, "wb") as out:
        return subprocess.Popen(argv, cwd=cwd, env={**environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


def wait_for(process: subprocess.Popen, log: Path, ready, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}: {log.read_text()[-2000:]}")
        if ready():
            return
        time.sleep(0.1)
    stop(process)
    pytest.fail(f"{what} not ready within 60s: {log.read_text()[-2000:]}")


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Answers(http.server.BaseHTTPRequestHandler):
    """/500, /404, /hang (never answers), /boot (503 twice, then 200); counts requests per path."""

    def do_GET(self):
        self.server.counts[self.path] = self.server.counts.get(self.path, 0) + 1
        if self.path == "/hang":
            self.server.release.wait(60)
            return
        if self.path == "/boot":
            code = 503 if self.server.counts[self.path] <= 2 else 200
        else:
            code = int(self.path.strip("/"))
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def stdlib_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    server.daemon_threads = True
    server.counts, server.release = {}, threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    """A Redis of this module's own that requires REDIS_PASSWORD (the shared one has none, and
    Redis 7 then accepts any password); its port."""
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    config = folder / "redis.conf"  # the password in a file, not on a command line
    config.write_text(f"port {port}\nbind 127.0.0.1\nrequirepass {REDIS_PASSWORD}\nsave \"\"\nappendonly no\n"
                      f"dir {folder}\n")
    log = folder / "redis.log"
    try:
        process = start(["redis-server", str(config)], folder, {}, log)
    except FileNotFoundError:
        _service_missing("redis-server")
    try:
        wait_for(process, log, lambda: answers(port), "redis-server")
        yield port
    finally:
        stop(process)
