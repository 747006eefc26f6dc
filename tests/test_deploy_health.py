"""remediation/deploy/health.py against real parts: a copy of the demo served by a real gunicorn
(uvicorn workers, production-like env: DEBUG off, ALLOWED_HOSTS, SECURE_SSL_REDIRECT behind
SECURE_PROXY_SSL_HEADER) from the ``demo_python`` venv, a real Celery worker (solo pool), real
PostgreSQL and Redis (channels_redis), a standard-library HTTP server for the failures, and the
health script run in ``demo_python`` through the local transport and over SSH.

Redis databases 13 (the worker's broker), 14 (a broker no worker listens on), 12 and 11 (workers
named otherwise) are this file's: Celery's broadcasts are per database, so other tests' workers never
answer these pings. The services themselves are in tests/health_services.py."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import copy_demo
from health_services import (REDIS_PASSWORD, answers, database, free_port, private_redis,  # noqa: F401
                             redis_up, start, stdlib_server, stop, wait_for)
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401  (fixtures)

from remediation.deploy.health import CHECK_NAMES, Check, check, summary
from remediation.masking import encodings
from remediation.transport import Local

HOST = "thebot.example.com"
WORKER_DB, IDLE_DB = 13, 14
NAMED_DBS = {"worker1@%h": 12, "celery@web2.example": 11}  # one each: xdist may run both at once
SECRET_KEY = "planted-secret-key-Zq81mVx0Lr2Kp5Wn7Yt3Hb6Jc9Fd4Gs"
DB_PASSWORD = "Planted/pg-pw-5538"  # percent-encoded in the URL; trust auth accepts any password
NODE = "celery@" + socket.gethostname()
BARE_SETTINGS = (  # no channel layer, a cache that stores nothing, one system check ERROR
    "from .settings import *  # noqa: F401,F403\n"
    "del CHANNEL_LAYERS\n"
    'CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}\n'
    "STATICFILES_DIRS = [STATIC_ROOT]  # staticfiles.E002\n"
)


@pytest.fixture(scope="module")
def manage_dir(tmp_path_factory) -> Path:
    """The strict demo (it refuses a development env), with no .env of its own: the env is explicit."""
    project = copy_demo(tmp_path_factory.mktemp("health") / "thebot")
    (project / ".env").unlink()
    config = project / "backend" / "config"
    config.joinpath("settings_bare.py").write_text(BARE_SETTINGS)
    config.joinpath("settings_exit.py").write_text("import os\n\nos._exit(3)\n")
    config.joinpath("settings_hang.py").write_text("import time\n\ntime.sleep(600)\n")
    return project / "backend"


def prod_env(database: str, redis_db: int = WORKER_DB, redis_password: str | None = None, **extra) -> dict:
    auth = f":{redis_password}@" if redis_password else ""
    return {
        "DEBUG": "False", "ENVIRONMENT": "production", "SECRET_KEY": SECRET_KEY, "ALLOWED_HOSTS": f"{HOST},www.{HOST}",
        "FRONTEND_URL": f"https://{HOST}", "CORS_ALLOWED_ORIGINS": f"https://{HOST}",
        "DATABASE_URL": f"postgres://postgres:{quote(DB_PASSWORD, safe='')}@127.0.0.1:5432/{database}",
        "REDIS_URL": f"redis://{auth}127.0.0.1:6379/{redis_db}", **extra,
    }


@pytest.fixture(scope="module")
def app_url(demo_python, manage_dir, database, tmp_path_factory) -> str:
    """gunicorn with uvicorn workers serving the demo on a free loopback port; its health URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    gunicorn = str(Path(demo_python).parent / "gunicorn")
    process = start([gunicorn, "-k", "uvicorn_worker.UvicornWorker", "-w", "1", "-b", f"127.0.0.1:{port}",
                     "config.asgi:application"], manage_dir, prod_env(database), log)
    try:
        wait_for(process, log, lambda: answers(port), "gunicorn")
        yield f"http://127.0.0.1:{port}/api/health/"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def celery_worker(demo_python, manage_dir, database, tmp_path_factory) -> None:
    """``celery -A config worker`` (solo pool) on the broker of Redis database WORKER_DB."""
    redis_up()
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    celery = str(Path(demo_python).parent / "celery")
    process = start([celery, "-A", "config", "worker", "--pool", "solo", "--without-mingle", "--without-gossip",
                     "-l", "info"], manage_dir, prod_env(database), log)
    try:
        wait_for(process, log, lambda: f"{NODE} ready." in log.read_text(errors="replace"), "the Celery worker")
        yield
    finally:
        stop(process)


def run(demo_python, manage_dir, env, url, transport=None, **options) -> dict[str, Check]:
    checks = check(transport or Local(), python=demo_python, manage_dir=str(manage_dir), env=env, url=url, **options)
    assert [c.name for c in checks] == list(CHECK_NAMES)
    for c in checks:
        assert "\n" not in c.detail
    return {c.name: c for c in checks}


def statuses(checks: dict[str, Check]) -> dict[str, str]:
    return {name: c.status for name, c in checks.items()}


ALL_OK = dict.fromkeys(CHECK_NAMES, "ok")


def test_a_healthy_release_passes_every_check(demo_python, manage_dir, database, app_url, celery_worker):
    checks = run(demo_python, manage_dir, prod_env(database), app_url, celery_app="config", expect_worker=True)
    assert statuses(checks) == ALL_OK
    # Host and proxy header from the settings: ALLOWED_HOSTS' first entry, SECURE_PROXY_SSL_HEADER.
    assert checks["http"].detail == f"HTTP 200 OK from {app_url} (Host: {HOST}, X-Forwarded-Proto: https)"
    assert checks["django_checks"].detail == "no errors, 0 warnings"
    assert checks["database"].detail == "default (postgresql) SELECT 1 ok"
    assert checks["cache"].detail == "default (RedisCache) set/get/delete ok"
    assert checks["channel_layer"].detail == "RedisChannelLayer send/receive ok"
    assert checks["celery"].detail == f"{NODE} answered ping"
    assert summary(list(checks.values())) == (
        True, "healthy: http ok, django_checks ok, database ok, cache ok, channel_layer ok, celery ok")


def test_over_ssh_the_host_runs_the_checks(demo_python, manage_dir, database, app_url, ssh_host, tmp_path):
    from remediation.ssh import Ssh

    known, config = tmp_path / "known_hosts", tmp_path / "ssh_config"
    known.write_text(ssh_host.known_hosts_line + "\n")
    config.write_text("")
    with Ssh(ssh_host.name, ssh_host.address, port=ssh_host.port, key_file=str(ssh_host.client_key),
             known_hosts=str(known), ssh_config=str(config)) as ssh:
        checks = run(demo_python, manage_dir, prod_env(database), app_url, transport=ssh)
    assert statuses(checks) == {**ALL_OK, "celery": "skipped"}
    assert checks["celery"].detail == "no Celery app"


@pytest.mark.parametrize("proxy, expected", [
    ((), f"HTTP 301 Moved Permanently from {{url}} (Host: {HOST}; 2 attempts): redirect to "
         f"https://{HOST}/api/health/ not followed (SECURE_SSL_REDIRECT: send the SECURE_PROXY_SSL_HEADER header)"),
    (("X-Forwarded-Proto", "https"), f"HTTP 200 OK from {{url}} (Host: {HOST}, X-Forwarded-Proto: https)"),
], ids=["no-proxy-header", "proxy-header"])
def test_the_ssl_redirect_is_a_failure_not_a_pass(demo_python, manage_dir, database, app_url, proxy, expected):
    checks = run(demo_python, manage_dir, prod_env(database), app_url, https_proxy_header=proxy,
                 attempts=2, interval=0.1)
    assert checks["http"].detail == expected.format(url=app_url)
    assert checks["http"].status == ("ok" if proxy else "failed")
    assert statuses(checks) == {**ALL_OK, "http": checks["http"].status, "celery": "skipped"}
    healthy, line = summary(list(checks.values()))
    assert healthy is bool(proxy)
    if not proxy:
        assert line == f"unhealthy: http failed: {checks['http'].detail}"


def test_a_host_header_not_allowed_is_a_400(demo_python, manage_dir, database, app_url):
    checks = run(demo_python, manage_dir, prod_env(database), app_url, host_header="evil.example", attempts=1)
    assert checks["http"].status == "failed"
    assert checks["http"].detail == (f"HTTP 400 Bad Request from {app_url} (Host: evil.example, X-Forwarded-Proto: "
                                     "https; 1 attempt): is Host 'evil.example' in ALLOWED_HOSTS?")


@pytest.mark.parametrize("path, what, requests", [
    ("/500", "HTTP 500 Internal Server Error", 2),
    ("/404", "HTTP 404 Not Found", 2),
    ("/hang", "no response within 0.5s", 2),
    (None, "connection refused", 0),
], ids=["500", "404", "hang", "refused"])
def test_http_failures(demo_python, manage_dir, database, stdlib_server, path, what, requests):
    url = f"http://127.0.0.1:{stdlib_server.server_port}{path}" if path else f"http://127.0.0.1:{free_port()}/"
    checks = run(demo_python, manage_dir, prod_env(database), url, timeout=0.5, attempts=2, interval=0.1)
    assert checks["http"].status == "failed"
    assert checks["http"].detail == f"{what} from {url} (Host: {HOST}, X-Forwarded-Proto: https; 2 attempts)"
    assert stdlib_server.counts.pop(path, 0) == requests  # retried, never "anything but 000"
    assert statuses(checks) == {**ALL_OK, "http": "failed", "celery": "skipped"}


def test_an_app_still_booting_gets_its_retries(demo_python, manage_dir, database, stdlib_server):
    url = f"http://127.0.0.1:{stdlib_server.server_port}/boot"
    checks = run(demo_python, manage_dir, prod_env(database), url, attempts=5, interval=0.1)
    assert checks["http"].status == "ok"
    assert checks["http"].detail == f"HTTP 200 OK from {url} (Host: {HOST}, X-Forwarded-Proto: https, attempt 3 of 5)"
    assert stdlib_server.counts.pop("/boot") == 3


def test_not_an_http_url(demo_python, manage_dir, database):
    checks = run(demo_python, manage_dir, prod_env(database), "ftp://127.0.0.1/health")
    assert checks["http"].status == "failed"
    assert checks["http"].detail == "'ftp://127.0.0.1/health' is not an http(s) URL"


def test_no_worker_answering_is_a_failure_naming_the_broker(demo_python, manage_dir, database, app_url, celery_worker):
    env = prod_env(database, redis_db=IDLE_DB)  # the worker listens on WORKER_DB only
    checks = run(demo_python, manage_dir, env, app_url, timeout=1, celery_app="config", expect_worker=True)
    assert statuses(checks) == {**ALL_OK, "celery": "failed"}
    host = NODE.partition("@")[2]
    assert checks["celery"].detail == (f"no worker of this host ({host}) answered ping within 1s "
                                       f"on broker redis://127.0.0.1:6379/{IDLE_DB}")
    # A host that runs no worker only needs the broker to answer.
    checks = run(demo_python, manage_dir, env, app_url, timeout=1, celery_app="config", expect_worker=False)
    assert checks["celery"].status == "ok"
    assert checks["celery"].detail == f"broker redis://127.0.0.1:6379/{IDLE_DB} answers (no worker expected on this host)"


@pytest.mark.parametrize("name, status", [("worker1@%h", "ok"), ("celery@web2.example", "failed")],
                         ids=["named-worker-of-this-host", "another-hosts-worker"])
def test_only_a_worker_of_this_host_counts(demo_python, manage_dir, database, app_url, tmp_path, name, status):
    """The broker is shared by the fleet: another host's worker answering says nothing of this one."""
    redis_up()
    node = name.replace("%h", socket.gethostname())
    log = tmp_path / "worker.log"
    celery = str(Path(demo_python).parent / "celery")
    env = prod_env(database, redis_db=NAMED_DBS[name])
    process = start([celery, "-A", "config", "worker", "--pool", "solo", "--without-mingle", "--without-gossip",
                     "-l", "info", "-n", name], manage_dir, env, log)
    try:
        wait_for(process, log, lambda: f"{node} ready." in log.read_text(errors="replace"), "the Celery worker")
        checks = run(demo_python, manage_dir, env, app_url, timeout=1, celery_app="config", expect_worker=True)
    finally:
        stop(process)
    assert checks["celery"].status == status
    host = NODE.partition("@")[2]
    assert checks["celery"].detail == (f"{node} answered ping" if status == "ok" else
                                       f"no worker of this host ({host}) answered ping within 1s on broker "
                                       f"redis://127.0.0.1:6379/{NAMED_DBS[name]}; other hosts' workers did: {node}")


def test_a_broker_that_refuses(demo_python, manage_dir, database, app_url):
    broker = f"redis://127.0.0.1:{free_port()}/0"
    checks = run(demo_python, manage_dir, prod_env(database, CELERY_BROKER_URL=broker), app_url, timeout=1,
                 celery_app="config", expect_worker=True)
    assert statuses(checks) == {**ALL_OK, "celery": "failed"}
    assert checks["celery"].detail.startswith(f"broker {broker} does not answer: OperationalError: ")


@pytest.mark.parametrize("password", [REDIS_PASSWORD, "planted-wrong-pw-3318"])
def test_planted_passwords_never_appear(demo_python, manage_dir, postgres_db, private_redis, app_url, password):
    """PostgreSQL (trust auth) accepts the planted password; the private Redis checks its own."""
    env = prod_env(postgres_db, redis_db=0, redis_password=password)
    env["REDIS_URL"] = env["REDIS_URL"].replace(":6379/", f":{private_redis}/")
    checks = run(demo_python, manage_dir, env, app_url, timeout=1, celery_app="config", expect_worker=True)
    broker = f"broker redis://:****@127.0.0.1:{private_redis}/0"
    if password == REDIS_PASSWORD:
        assert statuses(checks) == {**ALL_OK, "celery": "failed"}
        assert checks["celery"].detail.endswith(f"answered ping within 1s on {broker}")
    else:
        assert statuses(checks) == {**ALL_OK, "cache": "failed", "channel_layer": "failed", "celery": "failed"}
        assert checks["cache"].detail.startswith("AuthenticationError: ")
        assert checks["celery"].detail.startswith(f"{broker} does not answer: ")
    text = repr([c.to_dict() for c in checks.values()]) + summary(list(checks.values()))[1]
    for secret in (DB_PASSWORD, password, SECRET_KEY):
        for form in encodings(secret):
            assert form not in text, form


def test_settings_that_raise_fail_every_check(demo_python, manage_dir, database, app_url):
    checks = run(demo_python, manage_dir, prod_env(database, ENVIRONMENT="staging"), app_url)
    assert statuses(checks) == dict.fromkeys(CHECK_NAMES, "failed")
    details = {c.detail for c in checks.values()}
    assert len(details) == 1
    detail = details.pop()
    assert detail.startswith("settings did not load: ImproperlyConfigured: ENVIRONMENT must be 'production' "
                             "when DEBUG is False (got 'staging') (config/settings.py:")


def test_system_check_errors_and_what_is_not_configured(demo_python, manage_dir, database, app_url):
    env = prod_env(database, DJANGO_SETTINGS_MODULE="config.settings_bare")
    checks = run(demo_python, manage_dir, env, app_url)
    assert statuses(checks) == {"http": "ok", "django_checks": "failed", "database": "ok", "cache": "skipped",
                                "channel_layer": "skipped", "celery": "skipped"}
    assert checks["django_checks"].detail == ("1 error: staticfiles.E002: The STATICFILES_DIRS setting should not "
                                              "contain the STATIC_ROOT setting.; 1 warning (staticfiles.W004)")
    assert checks["cache"].detail == "default cache is DummyCache (it stores nothing)"
    assert checks["channel_layer"].detail == "CHANNEL_LAYERS is not configured"
    assert summary(list(checks.values()))[0] is False


@pytest.mark.parametrize("module, line", [
    ("config.settings_exit", "settings did not load: the health script exited with status 3 during stage settings, "
                             "before it could report"),
    ("config.settings_hang", "settings did not load: no answer within 4s (in settings); the health script was killed"),
], ids=["exit", "hang"])
def test_settings_that_exit_or_hang_fail_every_check(demo_python, manage_dir, database, module, line):
    env = prod_env(database, DJANGO_SETTINGS_MODULE=module)
    checks = run(demo_python, manage_dir, env, "http://127.0.0.1:9/", time_limit=4)
    assert list(checks.values()) == [Check(name, "failed", line, 0.0) for name in CHECK_NAMES]


def test_the_time_limit_kills_the_script(demo_python, manage_dir, database, stdlib_server):
    url = f"http://127.0.0.1:{stdlib_server.server_port}/hang"
    checks = run(demo_python, manage_dir, prod_env(database), url, timeout=60, attempts=1, time_limit=4)
    line = "no answer within 4s (in http); the health script was killed"
    assert checks["http"] == Check("http", "failed", line, 0.0)
    for name in CHECK_NAMES[1:]:  # their results died with the script: not known, never ok
        assert checks[name] == Check(name, "unknown", f"not known: {line}", 0.0)
    assert stdlib_server.counts.pop("/hang") == 1


def test_an_interpreter_that_is_not_there(manage_dir, database, tmp_path):
    python = str(tmp_path / "missing" / "python")
    checks = run(python, manage_dir, prod_env(database), "http://127.0.0.1:9/")
    assert statuses(checks) == dict.fromkeys(CHECK_NAMES, "unknown")
    assert checks["http"].detail == f"the health script did not run: {python}: no such program"
    assert summary(list(checks.values()))[0] is False


def test_summary():
    ok = [Check(name, "ok", "fine") for name in CHECK_NAMES]
    assert summary(ok[:5] + [Check("celery", "skipped", "no Celery app")]) == (
        True, "healthy: http ok, django_checks ok, database ok, cache ok, channel_layer ok, celery skipped")
    assert summary(ok[:5] + [Check("celery", "unknown", "not known")]) == (False, "unhealthy: celery unknown: not known")
    assert summary([]) == (False, "unhealthy: no check ran")


# One worker runs this module, so its module-scoped set-up is built once (pytest runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("deploy-health")
