"""The demo's real Django (gunicorn from the demo venv) behind real nginx with certificates from the
test CA: what verify sees of a correct proxy, and what audit --live says when the settings and the
wire disagree (no X-Forwarded-Proto, a proxy that strips HSTS and serves no /static/, DEBUG on)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from conftest import copy_demo, invoke, make_lenient
from verify_servers import Nginx, answers, free_port, need_nginx

from remediation.tls import issue_host

PROD_ENV = {"DEBUG": "False", "ENVIRONMENT": "production", "ALLOWED_HOSTS": "localhost",
            "SECRET_KEY": "verify-test-" + "k7Qm2xR9vL4pT8wZ3nB6yH1cF5jD0sG" * 2,
            "CORS_ALLOWED_ORIGINS": "https://app.example.com", "FRONTEND_URL": "https://app.example.com",
            "REDIS_URL": "redis://127.0.0.1:6379/0"}


def gunicorn(python, backend, env, port, log):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    process = subprocess.Popen([python, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}",
                                "--workers", "1"], cwd=backend, env={**environ, **env}, stdout=open(log, "wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    return process


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, demo_python):
    need_nginx()
    folder = tmp_path_factory.mktemp("django")
    project = make_lenient(copy_demo(folder / "thebot"))
    backend = project / "backend"
    (project / ".env.production").write_text("".join(f"{k}={v}\n" for k, v in PROD_ENV.items()))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    done = subprocess.run([demo_python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=backend,
                          env={**environ, **PROD_ENV}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    host = issue_host(folder / "ca", ["localhost"])[1]
    cert = (host.cert, host.key)
    app, debug_app = free_port(), free_port()
    processes = [gunicorn(demo_python, backend, PROD_ENV, app, folder / "app.log"),
                 gunicorn(demo_python, backend, {**PROD_ENV, "DEBUG": "True", "ENVIRONMENT": "development"}, debug_app,
                          folder / "debug.log")]
    ports = {name: free_port() for name in ("proxied", "no_proto", "stripped", "debug")}
    static = f"location /static/ {{ alias {backend / 'staticfiles'}/; expires 30d; }}"
    proxy = "proxy_set_header Host $http_host;"
    nginx = Nginx(folder / "nginx")
    nginx.server(ports["proxied"], f"""    {static}
    location / {{ proxy_pass http://127.0.0.1:{app}; {proxy} proxy_set_header X-Forwarded-Proto https; }}""", cert)
    nginx.server(ports["no_proto"], f"    location / {{ proxy_pass http://127.0.0.1:{app}; {proxy} }}", cert)
    nginx.server(ports["stripped"], f"""    location / {{ proxy_pass http://127.0.0.1:{app}; {proxy}
        proxy_set_header X-Forwarded-Proto https; proxy_hide_header Strict-Transport-Security; }}""", cert)
    nginx.server(ports["debug"], f"""    {static}
    location / {{ proxy_pass http://127.0.0.1:{debug_app}; {proxy} proxy_set_header X-Forwarded-Proto https; }}""", cert)
    nginx.start()
    try:
        deadline = time.monotonic() + 90
        while not (answers(app) and answers(debug_app)):
            for process, log in zip(processes, ("app.log", "debug.log")):
                assert process.poll() is None, (folder / log).read_text()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not listen within 90 s"
            time.sleep(0.1)
        yield {"project": project, "ca": str(folder / "ca" / "ca.crt"), "python": demo_python,
               "url": {name: f"https://localhost:{port}/" for name, port in ports.items()}}
    finally:
        nginx.stop()
        for process in processes:
            os.killpg(process.pid, 15)
            process.wait(15)


def verify_json(deployed, name, *extra):
    done = invoke("verify", deployed["url"][name], "--ca-file", deployed["ca"], "--format", "json", "--ws-path",
                  "none", "--health-path", "/api/health/", *extra)
    return done, json.loads(done.stdout)["urls"][0]


def test_a_correct_proxy_in_front_of_django(deployed):
    done, entry = verify_json(deployed, "proxied")
    assert [f["id"] for f in entry["findings"]] == ["live.csp"]  # Django sends no CSP by itself (low)
    assert done.returncode == 0, done.output
    rows = {row["component"]: row for row in entry["rows"]}
    assert rows["Static files"]["status"] == "ok" and "Cache-Control: max-age=2592000" in rows["Static files"]["detail"]
    assert rows["HSTS"]["detail"].endswith("Strict-Transport-Security: max-age=31536000; includeSubDomains; preload")
    # Django's CSRF cookie on the admin login page: Secure and SameSite=Lax, not HttpOnly (Django's default).
    assert "csrftoken (Secure, not HttpOnly, SameSite=Lax)" in rows["Cookies"]["detail"]
    assert rows["DEBUG (404 page)"]["status"] == "ok" and rows["Health"]["status"] == "ok"


def test_django_debug_page_is_found(deployed):
    done, entry = verify_json(deployed, "debug")
    debug = [f for f in entry["findings"] if f["id"] == "live.debug"]
    assert done.returncode == 1
    assert len(debug) == 1 and debug[0]["severity"] == "critical" and "DEBUG = True" in debug[0]["detail"]


def test_audit_live_names_the_setting_and_the_response(deployed):
    urls = deployed["url"]
    done = invoke("audit", "--project", str(deployed["project"]), "--python", deployed["python"], "--env-file",
                  str(deployed["project"] / ".env.production"), "--format", "json",
                  "--live", urls["no_proto"], "--live", urls["stripped"], "--live", urls["debug"], "--live",
                  urls["proxied"], env={"SSL_CERT_FILE": deployed["ca"]}, timeout=300)
    assert done.returncode == 1, done.output
    host = json.loads(done.stdout)["hosts"][0]
    agreement = {(f["id"], f["detail"].split(" but ")[0]) for f in host["findings"] if f["id"].startswith("agreement.")}
    assert agreement == {("agreement.ssl_redirect", "SECURE_SSL_REDIRECT = True and " + urls["no_proto"]
                          + ": redirect loop after 1 hops (back to " + urls["no_proto"] + "): the app redirects HTTPS "
                          "requests to HTTPS again; SECURE_PROXY_SSL_HEADER is ('HTTP_X_FORWARDED_PROTO', 'https'): the "
                          "proxy must send X-Forwarded-Proto: https to the app (or it strips the header from the response)"),
                         ("agreement.hsts", "SECURE_HSTS_SECONDS = 31536000"),
                         ("agreement.static", f"STATIC_ROOT {deployed['project'] / 'backend' / 'staticfiles'} holds the "
                                              "collected files (STATIC_URL /static/)"),
                         ("agreement.debug", "the audited settings have DEBUG = False"),
                         # the DEBUG server runs the settings' development branch: its CSRF cookie is not Secure
                         ("agreement.csrf_cookie_secure", "CSRF_COOKIE_SECURE = True")}
    csrf = next(f for f in host["findings"] if f["id"] == "agreement.csrf_cookie_secure")
    assert f"GET {urls['debug']}admin/login/ answered 200 with Set-Cookie: csrftoken without Secure" in csrf["detail"]
    hsts = next(f for f in host["findings"] if f["id"] == "agreement.hsts")
    assert f"GET {urls['stripped']} answered 404 without Strict-Transport-Security" in hsts["detail"]  # the demo has no / page
    assert {f["area"] for f in host["findings"] if f["id"].startswith(("live.", "agreement."))} == {"live"}
    rows = host["rows"]["live"]
    assert rows[-1]["component"] == "Settings vs the wire" and rows[-1]["status"] == "error"
    assert host["facts"]["live"]["urls"][0]["url"] == urls["no_proto"]
    assert PROD_ENV["SECRET_KEY"] not in done.output


# One worker runs this module, so its module-scoped set-up is built once (pytest runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("verify-django")
