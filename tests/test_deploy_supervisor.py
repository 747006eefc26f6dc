"""supervisord, for real (remediation/deploy/supervisor.py): a real supervisord holds the web
socket, two gunicorn masters are restarted one at a time under a steady HTTP load, every process
is checked in /proc to run the new release, Celery's worker gets a warm shutdown while a task runs,
and the app gets its secrets through envexec without them showing anywhere (tests/servicehost.py).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from servicehost import (APP_GROUP, APP_USER, SUPERVISORD, Deploy, Load, all_command_lines, app_venv,  # noqa: F401
                         children, free_port, get, need, service_world, supervisord)
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401 (fixtures)

from remediation.deploy import procs, services
from remediation.deploy.services import ServiceSpec
from remediation.ssh import Ssh
from remediation.transport import Local


@pytest.fixture(scope="module")
def supervisor(tmp_path_factory):
    need(SUPERVISORD)
    folder = tmp_path_factory.mktemp("supervisord")
    conf_dir = folder / "conf.d"
    conf_dir.mkdir()
    with supervisord(folder, conf_dir) as ctl:
        yield ctl, conf_dir


def deployed(world: Path, app_venv: Path, supervisor, app: str, transport=None,
             **overrides) -> tuple[Deploy, ServiceSpec, list[str]]:
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
    changed = services.install(transport or Local(), spec)
    assert changed == [f"{conf_dir}/{app}.conf", f"{root}/bin/envexec", f"{root}/bin/gunicorn.conf.py"]
    wait_serving(spec, "r1", transport)
    return deploy, spec, changed


def port(spec: ServiceSpec) -> int:
    return int(spec.bind.rsplit(":", 1)[1])


def wait_serving(spec: ServiceSpec, release: str, transport=None) -> None:
    deadline = time.monotonic() + 90
    while True:
        state = services.status(transport or Local(), spec)["services"]
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


def test_rolling_restart_switches_release_with_zero_failed_requests(service_world, app_venv, supervisor, capsys):
    ctl, conf_dir = supervisor
    deploy, spec, _ = deployed(service_world, app_venv, supervisor, "rolling", celery_app="tasks", beat=True)
    pids = [process["pid"] for group in services.status(Local(), spec)["services"].values() for process in group]
    assert services.install(Local(), spec) == []  # the same spec again: nothing written, nothing reloaded
    assert [process["pid"] for group in services.status(Local(), spec)["services"].values() for process in group] == pids

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
    with capsys.disabled():
        print(f"\nrolling restart: 0 of {len(answers)} requests failed; " +
              ", ".join(f"{result['service']} {result['seconds']}s" for result in results))
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


def test_a_release_that_cannot_import_fails_and_the_old_one_keeps_serving(service_world, app_venv, supervisor):
    deploy, spec, _ = deployed(service_world, app_venv, supervisor, "broken", celery_app="tasks")
    deploy.release("r3", broken=True)
    load = Load(port(spec))
    load.start()
    deploy.switch("r3")
    results = services.restart(Local(), spec, str(deploy.root / "releases" / "r3"))
    # the worker restarts beside the web roll (its own code imports): the deploy's rollback takes it back
    assert [(result["service"], result["status"]) for result in results] == [("broken-web", "failed"), ("broken-worker", "ok")]
    assert "ModuleNotFoundError: No module named 'nosuchmodule_for_this_test'" in results[0]["detail"]
    assert results[0]["detail"].startswith("broken-web:broken-web_0 ")
    assert deploy.secret not in results[0]["detail"]
    assert get(port(spec)) == (200, "r1")  # process 1 still serves the old release

    deploy.switch("r1")  # what the deploy's automatic rollback does
    results = services.restart(Local(), spec, str(deploy.root / "releases" / "r1"))
    answers = load.stop()
    assert [result["status"] for result in results] == ["ok", "ok"], results
    assert Load.failed(answers) == [] and {body for _, _, body in answers} == {"r1"}


def test_stop_start_baseline_drops_requests(service_world, app_venv, supervisor, capsys):
    deploy, spec, _ = deployed(service_world, app_venv, supervisor, "baseline")
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


def test_a_hup_keeps_the_old_release_and_the_proc_check_names_it(service_world, app_venv, supervisor):
    """gunicorn#394: after a switch, HUP gives new workers that still run the old release; the
    /proc check that ``restart`` makes names every such process, and a real restart fixes it."""
    ctl, _ = supervisor
    deploy, spec, _ = deployed(service_world, app_venv, supervisor, "hup")
    masters = [processes_of(spec, ctl, name)[0] for name in ("hup-web:hup-web_0", "hup-web:hup-web_1")]
    old_workers = {pid: set(children(pid)) for pid in masters}
    deploy.switch("r2")
    subprocess.run([*ctl, "signal", "HUP", "hup-web:*"], check=True, capture_output=True, timeout=60)
    deadline = time.monotonic() + 60
    while not all(len(children(pid)) == 2 and not set(children(pid)) & old_workers[pid] for pid in masters):
        assert time.monotonic() < deadline, "gunicorn did not replace its workers on HUP"
        time.sleep(0.1)
    assert get(port(spec)) == (200, "r1")

    r1, r2 = deploy.root / "releases" / "r1", deploy.root / "releases" / "r2"
    found = procs.process_trees(Local(), str(r2 / ".venv" / "bin" / "python"), masters, str(r2))
    problems = procs.release_problems(found, {pid: 2 for pid in masters})
    assert len(problems) == 6 and all(f"runs in {r1}/backend, not in {r2}" in problem for problem in problems)

    assert [result["status"] for result in services.restart(Local(), spec, str(r2))] == ["ok"]
    assert get(port(spec)) == (200, "r2")


def test_install_restart_and_status_over_ssh(service_world, app_venv, supervisor, ssh_host, tmp_path):
    """The same code through the SSH transport (a real sshd on 127.0.0.x, this machine's supervisord)."""
    known, config = tmp_path / "known_hosts", tmp_path / "ssh_config"
    known.write_text(ssh_host.known_hosts_line + "\n")
    config.write_text("")
    with Ssh(ssh_host.name, ssh_host.address, port=ssh_host.port, key_file=str(ssh_host.client_key),
             known_hosts=str(known), ssh_config=str(config)) as ssh:
        deploy, spec, _ = deployed(service_world, app_venv, supervisor, "overssh", transport=ssh)
        deploy.switch("r2")
        results = services.restart(ssh, spec, str(deploy.root / "releases" / "r2"))
        assert [(result["service"], result["status"]) for result in results] == [("overssh-web", "ok")]
        assert get(port(spec)) == (200, "r2")
        state = services.status(ssh, spec)["services"]
        assert {process["release"] for group in state.values() for process in group} == {"r2"}
        assert services.install(ssh, spec) == []


# One worker runs this module, so its module-scoped set-up is built once (pytest runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("deploy-services")
