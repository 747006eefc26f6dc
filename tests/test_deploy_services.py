"""Services of a deploy (remediation/deploy/services.py): the spec, the systemd units (rendered,
verified and rated by systemd-analyze: systemd cannot run here), the envexec launcher, and what
the units' MemoryDenyWriteExecute= means for the Python stack. supervisord, for real, is in
tests/test_deploy_supervisor.py."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from servicehost import SYSTEM_PYTHON, app_venv, need, service_world  # noqa: F401 (fixtures)

from remediation.deploy import launcher, services
from remediation.transport import Local
from remediation.deploy.services import ServiceSpec, ServiceSpecError
from remediation.transport import Local

# What `systemd-analyze security --offline=true` printed for the rendered units (systemd 252).
EXPOSURE = {"thebot-web.service": 1.2, "thebot-worker.service": 1.2, "thebot-beat.service": 1.2}


def spec_for(deploy_to="/srv/thebot", **overrides) -> ServiceSpec:
    values = dict(app="thebot", deploy_to=str(deploy_to), user="thebot", group="thebot", manage_rel="backend",
                  asgi=False, app_module="config.wsgi:application", celery_app="config", beat=True)
    return ServiceSpec(**{**values, **overrides})


# --- the spec -------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value,words", [
    ("user", "root", "user 'root': services never run as root"),
    ("group", "root", "group 'root': services never run as root"),
    ("deploy_to", "/srv/my app", "an absolute path of plain characters"),
    ("deploy_to", "/srv/%n", "an absolute path of plain characters"),
    ("app", "the bot\n[Service]", "is not valid"),
    ("bind", "127.0.0.1:99999", "is not valid"),
    ("manage_rel", "../elsewhere", "a folder inside the release"),
    ("process_manager", "upstart", "one of systemd, supervisor"),
])
def test_spec_refuses_what_cannot_be_rendered_safely(field, value, words):
    with pytest.raises(ServiceSpecError) as raised:
        spec_for(**{"deploy_to": "/srv/thebot", field: value})
    assert words in str(raised.value) and "\n" not in str(raised.value)


# --- systemd: rendered, verified and rated offline --------------------------------------------

def render_units(root: Path, venv: Path, **overrides) -> tuple[ServiceSpec, Path]:
    """Units for a layout whose ExecStart interpreter really exists (``current/.venv/bin/python``),
    so that `systemd-analyze verify` checks them for real."""
    (root / "releases" / "r1" / "backend").mkdir(parents=True)
    (root / "releases" / "r1" / ".venv").symlink_to(venv)
    (root / "current").symlink_to("releases/r1")
    spec = spec_for(root, **overrides)
    units = root / "units"
    units.mkdir()
    for name, text in services.render_systemd(spec).items():
        (units / name).write_text(text)
    return spec, units


def test_systemd_units_verify_and_rate_ok(tmp_path, app_venv):
    need("systemd-analyze")
    spec, units = render_units(tmp_path, app_venv, asgi=True, app_module="config.asgi:application")
    names = sorted(path.name for path in units.iterdir())
    assert names == ["thebot-beat.service", "thebot-web.service", "thebot-web.socket", "thebot-worker.service"]
    web = (units / "thebot-web.service").read_text()
    python = f"{tmp_path}/current/.venv/bin/python"
    assert f"ExecStart={python} {tmp_path}/bin/envexec -- {python} -m gunicorn --config {tmp_path}/bin/gunicorn.conf.py --workers 2 " \
           "--worker-class uvicorn_worker.UvicornWorker --preload" in web
    assert "User=thebot\nGroup=thebot\n" in web and f"EnvironmentFile={tmp_path}/shared/.env\n" in web
    assert f"WorkingDirectory={tmp_path}/current/backend\n" in web
    assert f"ReadWritePaths={tmp_path}/shared/media {tmp_path}/shared/log\n" in web
    assert "ListenStream=127.0.0.1:8000\n" in (units / "thebot-web.socket").read_text()
    worker = (units / "thebot-worker.service").read_text()
    assert "KillSignal=SIGTERM\nKillMode=mixed\nTimeoutStopSec=600\n" in worker
    assert f"ReadWritePaths={tmp_path}/shared/media {tmp_path}/shared/log {tmp_path}/shared/beat\n" in (
        units / "thebot-beat.service").read_text()

    done = subprocess.run(["systemd-analyze", "verify", *sorted(str(path) for path in units.iterdir())],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")

    measured = dict(exposure(unit) for unit in sorted(units.glob("*.service")))
    assert measured == EXPOSURE
    assert all(value <= 4.0 for value in measured.values())


def exposure(unit: Path) -> tuple[str, float]:
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True,
                          text=True, timeout=120)
    level = re.search(r"Overall exposure level for (\S+): (\d+\.\d)", done.stdout)
    return level.group(1), float(level.group(2))


def test_systemd_units_under_home_read_it_only(tmp_path):
    """A deploy under /home gets ProtectHome=read-only (its release must stay readable)."""
    need("systemd-analyze")
    units = services.render_systemd(spec_for("/home/deploy/thebot"))
    assert all("ProtectHome=read-only\n" in text for name, text in units.items() if name.endswith(".service"))
    for name, text in units.items():
        (tmp_path / name).write_text(text)
    assert dict(exposure(unit) for unit in sorted(tmp_path.glob("*.service"))) == {
        "thebot-beat.service": 1.3, "thebot-web.service": 1.3, "thebot-worker.service": 1.3}


def test_systemd_verify_fails_when_the_interpreter_is_missing(tmp_path, app_venv):
    need("systemd-analyze")
    _, units = render_units(tmp_path, app_venv)
    (tmp_path / "releases" / "r1" / ".venv").unlink()
    done = subprocess.run(["systemd-analyze", "verify", str(units / "thebot-web.service"), str(units / "thebot-web.socket")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "current/.venv/bin/python is not executable" in done.stderr


def test_without_celery_only_the_web_units(tmp_path):
    spec = spec_for(tmp_path, celery_app=None, beat=False)
    assert sorted(services.render_systemd(spec)) == ["thebot-web.service", "thebot-web.socket"]
    conf = services.render_supervisor(spec)["thebot.conf"]
    assert "[fcgi-program:thebot-web]" in conf and "[program:" not in conf


MDWE_CHECK = """
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(65, 1, 0, 0, 0) == 0, "PR_SET_MDWE"  # PR_MDWE_REFUSE_EXEC_GAIN: as MemoryDenyWriteExecute=
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("W+X memory was allowed: the check would prove nothing")
except PermissionError:
    pass
import psycopg2
connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=sys.argv[1])
cursor = connection.cursor(); cursor.execute("select 41 + 1"); assert cursor.fetchone() == (42,)
import django, gunicorn.app.wsgiapp, uvicorn_worker, celery.bin.celery, ssl, hashlib, sqlite3
assert ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)(1) == 2
print("ok")
"""


def test_memory_deny_write_execute_keeps_python_and_psycopg2_working(app_venv, postgres_db):
    """The kernel's own W^X switch (what MemoryDenyWriteExecute= enforces) under the app venv:
    CPython, psycopg2 with a real query, Django, gunicorn, uvicorn, Celery, ctypes callbacks."""
    done = subprocess.run([str(app_venv / "bin" / "python"), "-c", MDWE_CHECK, postgres_db], capture_output=True,
                          text=True, timeout=120)
    if "PR_SET_MDWE" in done.stderr:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


# --- envexec ----------------------------------------------------------------------------------

def launcher_file(tmp_path) -> Path:
    path = tmp_path / "envexec"
    path.write_text(launcher.source())
    return path


def test_envexec_reads_the_env_file_like_python_dotenv_and_pins_the_release(tmp_path, app_venv):
    envexec = launcher_file(tmp_path)
    (tmp_path / "releases" / "r1").mkdir(parents=True)
    (tmp_path / "releases" / "r1" / ".venv").symlink_to(app_venv)
    (tmp_path / "current").symlink_to("releases/r1")
    env = tmp_path / ".env"
    env.write_text("export A=1\nB='two words' # comment\nC=\"x\\ny\"\nD\nE=${A}\n")
    show = "import os, sys; print(repr([os.environ.get(k) for k in 'ABCDE']), sys.prefix, os.environ['PWD'])"
    python = tmp_path / "current" / ".venv" / "bin" / "python"
    done = subprocess.run([SYSTEM_PYTHON, "-I", str(envexec), str(env), "--", str(python), "-c", show],
                          cwd=tmp_path / "current", env={"D": "kept", "PATH": os.environ["PATH"]},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['1',", "'two", "words',", "'x\\ny',", "'kept',", "'${A}']",
                                   str(app_venv), str(tmp_path / "releases" / "r1")]


@pytest.mark.parametrize("text,words", [
    ('A=1\nB="unterminated\n', ".env:2: cannot parse this line"),
    (b"A=\xff\n", ".env: not UTF-8 (byte 2)"),
    (None, ".env: cannot read the env file (No such file or directory)"),
])
def test_envexec_bad_env_file_one_line_exit_78(tmp_path, text, words):
    envexec, env = launcher_file(tmp_path), tmp_path / ".env"
    if text is not None:
        env.write_bytes(text if isinstance(text, bytes) else text.encode())
    done = subprocess.run([SYSTEM_PYTHON, "-I", str(envexec), str(env), "--", "/bin/true"], capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (78, "", f"envexec: {tmp_path}/{words}\n")


def test_systemd_install_writes_what_differs_and_reloads_only_then(tmp_path, monkeypatch):
    """systemd cannot run here: ``systemctl`` is a stub that records its arguments (the one
    stand-in in these tests); the files, their modes and the calls are real."""
    stubs, calls = tmp_path / "stubs", tmp_path / "calls"
    stubs.mkdir()
    (stubs / "systemctl").write_text(f"#!/bin/sh\necho \"$*\" >> {calls}\n")
    (stubs / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{stubs}:{os.environ['PATH']}")
    unit_dir = tmp_path / "systemd"
    spec = spec_for(tmp_path / "app", user="nobody", group="nogroup", systemd_unit_dir=str(unit_dir))

    changed = services.install(Local(), spec)
    names = ["thebot-web.socket", "thebot-web.service", "thebot-worker.service", "thebot-beat.service"]
    assert changed == [*(f"{unit_dir}/{name}" for name in names), f"{tmp_path}/app/bin/envexec",
                       f"{tmp_path}/app/bin/gunicorn.conf.py"]
    assert oct((unit_dir / "thebot-web.service").stat().st_mode & 0o777) == "0o644"
    assert (tmp_path / "app" / "bin" / "envexec").read_text() == launcher.source()
    assert (tmp_path / "app" / "shared" / "beat").stat().st_uid != 0  # beat's schedule: the app user's
    enable = "enable thebot-web.socket thebot-web.service thebot-worker.service thebot-beat.service"
    assert calls.read_text().splitlines() == ["daemon-reload", enable]

    assert services.install(Local(), spec) == []
    assert calls.read_text().splitlines() == ["daemon-reload", enable, enable]

    spec.beat = False  # another host runs beat now
    assert services.install(Local(), spec) == [f"{unit_dir}/thebot-beat.service"]
    assert not (unit_dir / "thebot-beat.service").exists()
    assert calls.read_text().splitlines()[3:] == [
        "disable --now thebot-beat.service", "daemon-reload",
        "enable thebot-web.socket thebot-web.service thebot-worker.service"]


def test_install_refuses_an_app_user_the_host_does_not_have(tmp_path):
    spec = spec_for(tmp_path / "app", user="nosuchuser", group="nogroup", process_manager="supervisor",
                    supervisor_conf_dir=str(tmp_path / "conf"))
    with pytest.raises(services.ServiceError) as raised:
        services.install(Local(), spec)
    assert str(raised.value) == "app user 'nosuchuser': no such user on this host"
    assert not (tmp_path / "app").exists() and not (tmp_path / "conf").exists()


# One worker runs this module, so its module-scoped set-up is built once (pytest runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("deploy-services")
