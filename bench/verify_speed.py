"""invoke verify of one URL against 16 URLs in parallel, side by side in the same run.

Starts one real nginx (/usr/sbin/nginx) with 16 HTTPS sites on loopback ports (certificates from a
local CA made by remediation/tls.py, every check passing: headers, cookies, the admin's stylesheet
with a long cache lifetime, a WebSocket handshake answered by a standard-library backend, a health
URL) and times, alternately, ``invoke verify URL`` and ``invoke verify "URL1 ... URL16"``, each as
the subprocess a user runs. Prints the medians and their ratio (target: one URL under 1 s on
loopback; 16 at most 1.5x one). Also the in-process time of the verification alone (no start-up).

    python bench/verify_speed.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from verify_servers import (GOOD_HEADERS, Nginx, WebSocketBackend, add_headers, close, copy_static,  # noqa: E402
                            free_port, stdlib_server)

from remediation.tls import issue_host  # noqa: E402


def site(static: str, ws: str) -> str:
    h = add_headers(GOOD_HEADERS)
    cookies = add_headers(GOOD_HEADERS, ("sessionid=bench; Path=/; Secure; HttpOnly; SameSite=Lax",))
    return f"""
    location = / {{ {cookies} return 200 "<html>page</html>"; }}
    location = /admin/login/ {{ {h} return 200 '<link rel="stylesheet" href="/static/admin/css/base.css">'; }}
    location /static/ {{ alias {static}/; expires 30d; {h} }}
    location /ws/ {{ proxy_pass {ws}/ws/ok/; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade;
                    proxy_set_header Connection $connection_upgrade; }}
    location = /health/ {{ {h} return 200 "ok"; }}
    location / {{ {h} return 404 "not found"; }}
"""


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"verify failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    import os

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        host = issue_host(folder / "ca", ["localhost"])[1]
        static = copy_static(folder)
        backend = stdlib_server(WebSocketBackend)
        ws = f"http://127.0.0.1:{backend.server_address[1]}"
        nginx = Nginx(folder / "nginx")
        ports = [free_port() for _ in range(16)]
        for port in ports:
            nginx.server(port, site(str(static), ws), (host.cert, host.key), extra="ssl_protocols TLSv1.2 TLSv1.3;")
        nginx.start()
        try:
            env = {**os.environ, "SSL_CERT_FILE": str(folder / "ca" / "ca.crt")}
            urls = [f"https://localhost:{port}/" for port in ports]
            base = [sys.executable, "-m", "invoke", "verify", "--health-path", "/health/", "--format", "json"]
            one, sixteen = [], []
            timed(base + [urls[0]], env)  # warm the page cache
            for _ in range(args.rounds):
                one.append(timed(base + [urls[0]], env))
                sixteen.append(timed(base + [" ".join(urls)], env))
            from remediation.verify import verify_options, verify_urls

            inner = {}
            for label, chosen in (("1", urls[:1]), ("16", urls)):
                checked, options = verify_options(chosen, ca_file=env["SSL_CERT_FILE"], timeout=5, health_path="/health/")
                verify_urls(checked, options)
                runs = []
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    reports, _ = verify_urls(checked, options)
                    runs.append(time.perf_counter() - start)
                    assert all(not r.findings for r in reports), [f.id for r in reports for f in r.findings]
                inner[label] = statistics.median(runs)
        finally:
            nginx.stop()
            close(backend)
    m1, m16 = statistics.median(one), statistics.median(sixteen)
    print(f"invoke verify, 1 URL:   median {m1 * 1000:.0f} ms over {args.rounds} rounds (target < 1000 ms)")
    print(f"invoke verify, 16 URLs: median {m16 * 1000:.0f} ms: ratio {m16 / m1:.2f} (target <= 1.50)")
    print(f"verification alone (in process, no start-up): 1 URL {inner['1'] * 1000:.0f} ms, "
          f"16 URLs {inner['16'] * 1000:.0f} ms")
    with open("/proc/loadavg") as handle:
        print(f"load average at the end: {handle.read().split()[0]}")


if __name__ == "__main__":
    main()
