"""Real servers for the verify tests: nginx (the distribution's, /usr/sbin/nginx) on loopback ports
with its own prefix, config, pid and logs in a temp folder, serving fixed responses with chosen
headers and certificates from a test CA; and standard-library servers for what nginx will not do
on purpose (a WebSocket handshake backend, a server that never answers, one that streams gigabytes).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

NGINX = "/usr/sbin/nginx"
PLANTED = {"session": "planted-session-Zq81x", "csrf": "planted-csrf-Wm42y", "other": "planted-other-Kd93v"}

GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def need_nginx() -> None:
    if not os.access(NGINX, os.X_OK):
        from conftest import _service_missing

        _service_missing(f"nginx ({NGINX}; .ci/run installs the nginx package)")


def add_headers(headers: dict, cookies=()) -> str:
    lines = [f'add_header {name} "{value}" always;' for name, value in headers.items()]
    lines += [f'add_header Set-Cookie "{cookie}" always;' for cookie in cookies]
    return "\n        ".join(lines)


class Nginx:
    """One nginx master with every server block the tests need, each on its own loopback port."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.servers: list[str] = []
        self.process = None

    def server(self, port: int, body: str, tls: tuple | None = None, tokens: bool = False, extra: str = "") -> None:
        listen = f"listen 127.0.0.1:{port}{' ssl' if tls else ''};"
        certs = f"ssl_certificate {tls[0]};\n    ssl_certificate_key {tls[1]};" if tls else ""
        self.servers.append(f"""
  server {{
    {listen}
    server_name localhost;
    {certs}
    {extra}
    server_tokens {'on' if tokens else 'off'};
{body}
  }}""")

    def start(self) -> None:
        temp = self.folder / "tmp"
        temp.mkdir(parents=True, exist_ok=True)
        paths = " ".join(f"{kind}_temp_path {temp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the temp folders (0700)
        config = f"""{user}worker_processes 1;
pid {self.folder}/nginx.pid;
error_log {self.folder}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  default_type text/html;
  {paths}
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
{''.join(self.servers)}
}}
"""
        (self.folder / "nginx.conf").write_text(config)
        done = subprocess.run([NGINX, "-t", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        self.process = subprocess.Popen([NGINX, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"),
                                         "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                        stderr=open(self.folder / "stderr.log", "wb"), start_new_session=True)
        ports = [int(line.split(":")[1].split()[0].rstrip(";")) for line in self.servers_listen()]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.folder / "stderr.log").read_text()
            if all(answers(port) for port in ports):
                return
            time.sleep(0.05)
        pytest.fail("nginx did not listen within 30 s")

    def servers_listen(self):
        for block in self.servers:
            for line in block.splitlines():
                if line.strip().startswith("listen "):
                    yield line.strip()

    def stop(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGQUIT)
                self.process.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class WebSocketBackend(http.server.BaseHTTPRequestHandler):
    """/ws/ok completes the handshake (101 with the right Sec-WebSocket-Accept), /ws/wrong answers
    101 with a wrong one, /ws/auth refuses (403), anything else is 500 (THE_BOT's failure)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        if self.path.startswith("/ws/ok") or self.path.startswith("/ws/wrong"):
            accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC11B85").encode())
                                      .digest()).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept if self.path.startswith("/ws/ok") else "d3Jvbmc=")
            self.end_headers()
            self.close_connection = True
            return
        code = 403 if self.path.startswith("/ws/auth") else 500
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Hang(http.server.BaseHTTPRequestHandler):
    """Reads the request and never answers (until the test module ends)."""

    def do_GET(self):
        self.server.release.wait(120)

    def log_message(self, *args):
        pass


class Gigabytes(http.server.BaseHTTPRequestHandler):
    """200 with a body of 4 GiB, streamed until the client goes away."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(4 << 30))
        self.end_headers()
        chunk = b"<p>" + b"x" * 65533
        try:
            for _ in range((4 << 30) // len(chunk)):
                self.wfile.write(chunk)
                self.server.sent += len(chunk)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def stdlib_server(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.release, server.sent = threading.Event(), 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def close(server) -> None:
    server.release.set()
    server.shutdown()
    server.server_close()


def copy_static(folder: Path) -> Path:
    """A STATIC_ROOT-like folder with the admin's stylesheet."""
    css = folder / "static" / "admin" / "css" / "base.css"
    css.parent.mkdir(parents=True)
    css.write_text("body { margin: 0 }\n")
    return folder / "static"


__all__ = ["Nginx", "PLANTED", "GOOD_HEADERS", "free_port", "need_nginx", "add_headers", "stdlib_server", "close",
           "WebSocketBackend", "Hang", "Gigabytes", "copy_static"]
