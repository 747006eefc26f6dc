"""Services of a deploy (remediation/deploy/services.py): systemd units rendered, verified and
rated by systemd-analyze; supervisord programs driven for real under a steady HTTP load.

supervisord and the app run here for real (tests/servicehost.py): the web socket is held by
supervisord, two gunicorn masters are restarted one at a time, and every process is checked in
/proc to run the new release. systemd cannot run here: its units are checked offline only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from servicehost import (APP_GROUP, APP_USER, SYSTEM_PYTHON, Deploy, Load, all_command_lines, app_user_can_run,
                         build_app_venv, children, free_port, get, supervisord, world_dir)

from remediation.deploy import launcher, services
from remediation.deploy.services import ServiceSpec, ServiceSpecError
from remediation.transport import Local

# What `systemd-analyze security --offline=true` printed for the rendered units (systemd 252).
EXPOSURE = {"thebot-web.service": 1.2, "thebot-worker.service": 1.2, "thebot-beat.service": 1.2}


def spec_for(deploy_to="/srv/thebot", **overrides) -> ServiceSpec:
    values = dict(app="thebot", deploy_to=str(deploy_to), user="thebot", group="thebot", manage_rel="backend",
                  asgi=False, app_module="config.wsgi:application", celery_app="config", beat=True)
    return ServiceSpec(**{**values, **overrides})


@pytest.fixture(scope="module")
def world():
    folder = world_dir("deploy-services-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def app_venv(world) -> Path:
    if not app_user_can_run(SYSTEM_PYTHON):
        pytest.skip(f"{SYSTEM_PYTHON} cannot be run by {APP_USER}")
    return build_app_venv(world / "venv")


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

    measured = {}
    for unit in sorted(units.glob("*.service")):
        done = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True,
                              text=True, timeout=120)
        level = re.search(r"Overall exposure level for (\S+): (\d+\.\d)", done.stdout)
        measured[level.group(1)] = float(level.group(2))
    assert measured == EXPOSURE
    assert all(value <= 4.0 for value in measured.values())


def test_systemd_verify_fails_when_the_interpreter_is_missing(tmp_path, app_venv):
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


# --- supervisord, for real ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def supervisor(world, tmp_path_factory):
    folder = tmp_path_factory.mktemp("supervisord")
    conf_dir = folder / "conf.d"
    conf_dir.mkdir()
    with supervisord(folder, conf_dir) as ctl:
        yield ctl, conf_dir


def deployed(world, app_venv, supervisor, app: str, **overrides) -> tuple[Deploy, ServiceSpec, list[str]]:
    """DEPLOY_TO with releases r1 and r2 (r1 current), installed and serving r1."""
    ctl, conf_dir = supervisor
    root = world / app
    root.mkdir()
    deploy = Deploy(root, app_venv)
    deploy.release("r1")
    deploy.release("r2")
    deploy.switch("r1")
    spec = ServiceSpec(**{**dict(app=app, deploy_to=str(root), user=APP_USER, group=APP_GROUP, manage_rel="backend",
                                 asgi=False, app_module="webapp:application", bind=f"127.0.0.1:{free_port()}",
                                 process_manager="supervisor", supervisorctl=ctl, supervisor_conf_dir=str(conf_dir)),
                          **overrides})
    changed = services.install(Local(), spec)
    assert changed == [f"{conf_dir}/{app}.conf", f"{root}/bin/envexec", f"{root}/bin/gunicorn.conf.py"]
    wait_serving(spec, "r1")
    return deploy, spec, changed


def port(spec: ServiceSpec) -> int:
    return int(spec.bind.rsplit(":", 1)[1])


def wait_serving(spec: ServiceSpec, release: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        state = services.status(Local(), spec)["services"]
        up = all(process["state"] == "RUNNING" for group in state.values() for process in group)
        try:
            if up and get(port(spec)) == (200, release):
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, state
        time.sleep(0.2)


def processes_of(spec: ServiceSpec, ctl: list[str], name: str) -> list[int]:
    pid = int(subprocess.run([*ctl, "pid", name], capture_output=True, text=True, check=True).stdout)
    return [pid, *children(pid)]


def finish_task_when_stopping(ctl: list[str], name: str, tasks: Path) -> None:
    """Let the running task end only once supervisord is stopping the worker (its TERM sent)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if " STOPPING" in subprocess.run([*ctl, "status", name], capture_output=True, text=True).stdout:
            if not (tasks / "done").exists():
                (tasks / "stopping-seen-while-running").touch()
            break
        time.sleep(0.05)
    (tasks / "finish").touch()


def test_rolling_restart_switches_release_with_zero_failed_requests(world, app_venv, supervisor):
    ctl, conf_dir = supervisor
    deploy, spec, _ = deployed(world, app_venv, supervisor, "rolling", celery_app="tasks", beat=True)
    assert services.install(Local(), spec) == []  # the same spec again: nothing written, nothing reloaded

    from celery import Celery  # the test sends a 3-second task; the worker's TERM must let it finish
    Celery("tasks", broker="filesystem://", broker_transport_options={
        "data_folder_in": str(deploy.queue), "data_folder_out": str(deploy.queue),
        "control_folder": str(deploy.queue / "control")}).send_task("tasks.slow", args=[str(deploy.tasks)])
    deadline = time.monotonic() + 60
    while not (deploy.tasks / "started").exists():
        assert time.monotonic() < deadline, "the worker never started the task"
        time.sleep(0.05)

    stopping = threading.Thread(target=finish_task_when_stopping, args=(ctl, "rolling-worker", deploy.tasks), daemon=True)
    stopping.start()
    load = Load(port(spec))
    load.start()
    time.sleep(1)
    deploy.switch("r2")
    results = services.restart(Local(), spec, str(deploy.root / "releases" / "r2"))
    finished = time.monotonic()
    time.sleep(1)
    answers = load.stop()

    assert [(result["service"], result["status"]) for result in results] == [
        ("rolling-web", "ok"), ("rolling-worker", "ok"), ("rolling-beat", "ok")], results
    assert Load.failed(answers) == [] and len(answers) > 50
    assert {body for sent, _, body in answers if sent > finished} == {"r2"}
    # the worker got TERM while the task ran, and its warm shutdown let the task finish
    assert (deploy.tasks / "stopping-seen-while-running").exists()
    assert (deploy.tasks / "done").read_text() == "r1"
    r2 = str(deploy.root / "releases" / "r2")
    for name in ("rolling-web:rolling-web_0", "rolling-web:rolling-web_1", "rolling-worker", "rolling-beat"):
        for pid in processes_of(spec, ctl, name):
            assert os.readlink(f"/proc/{pid}/cwd").startswith(r2 + "/"), name
    state = services.status(Local(), spec)["services"]
    assert {process["release"] for group in state.values() for process in group} == {"r2"}

    # the secret reached the app, and nothing anyone can read shows it
    assert get(port(spec), "/secret") == (200, hashlib.sha256(deploy.secret.encode()).hexdigest())
    assert deploy.secret not in all_command_lines()
    assert deploy.secret not in (conf_dir / "rolling.conf").read_text()
    for log in (deploy.root / "shared" / "log").iterdir():
        assert deploy.secret not in log.read_text(errors="replace"), log


def test_a_release_that_cannot_import_fails_and_the_old_one_keeps_serving(world, app_venv, supervisor):
    deploy, spec, _ = deployed(world, app_venv, supervisor, "broken", celery_app="tasks")
    deploy.release("r3", broken=True)
    load = Load(port(spec))
    load.start()
    deploy.switch("r3")
    results = services.restart(Local(), spec, str(deploy.root / "releases" / "r3"))
    assert [(result["service"], result["status"]) for result in results] == [("broken-web", "failed"), ("broken-worker", "skipped")]
    assert "ModuleNotFoundError: No module named 'nosuchmodule_for_this_test'" in results[0]["detail"]
    assert results[0]["detail"].startswith("broken-web:broken-web_0 ")
    assert deploy.secret not in results[0]["detail"]
    assert get(port(spec)) == (200, "r1")  # process 1 still serves the old release

    deploy.switch("r1")  # what the deploy's automatic rollback does
    results = services.restart(Local(), spec, str(deploy.root / "releases" / "r1"))
    answers = load.stop()
    assert [result["status"] for result in results] == ["ok", "ok"], results
    assert Load.failed(answers) == [] and {body for _, _, body in answers} == {"r1"}


def test_stop_start_baseline_drops_requests(world, app_venv, supervisor, capsys):
    deploy, spec, _ = deployed(world, app_venv, supervisor, "baseline")
    load = Load(port(spec))
    load.start()
    time.sleep(1)
    deploy.switch("r2")
    results = services.stop_start_restart(Local(), spec, str(deploy.root / "releases" / "r2"))
    finished = time.monotonic()
    time.sleep(1)
    answers = load.stop()
    assert [(result["service"], result["status"]) for result in results] == [("baseline-web", "ok")], results
    assert {body for sent, _, body in answers if sent > finished} == {"r2"}
    with capsys.disabled():
        print(f"\nstop-then-start baseline: {len(Load.failed(answers))} of {len(answers)} requests failed")
