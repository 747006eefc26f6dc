"""Hostile projects get bounded time: settings that never return, that fork a child holding the
output, or that kill their own process become findings, and every process they started is gone.

No timing asserts (bench/probe_timeout.py measures the bound); the tests assert what the report
says and that the processes the settings started are dead afterwards.
"""

from __future__ import annotations

import json
import os
import time

from conftest import invoke, tree_digest
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401  (fixtures)
from test_fleet import by_host, projects_for, run_json, write_inventory


def append_settings(project, code: str) -> int:
    """Append ``code`` to the demo's settings; returns the line number of its first line."""
    settings = project / "backend" / "config" / "settings.py"
    text = settings.read_text()
    settings.write_text(text + "\n" + code + "\n")
    return len(text.splitlines()) + 2


def audit_json(project, *args):
    run = invoke("audit", "--project", str(project), "--format", "json", *args)
    assert run.returncode in (0, 1), run.stderr
    return run, json.loads(run.stdout)


def findings(document, host=0):
    return {f["id"]: f for f in document["hosts"][host]["findings"]}


def alive(pid: int) -> bool:
    """Running (a zombie no reaper collected counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def pids(folder) -> list[int]:
    return [int(p.read_text()) for p in sorted(folder.glob("*.pid")) if p.read_text().strip()]


HANG = """
import os as _os, time as _time
open({pids!r} + "/settings.pid", "w").write(str(_os.getpid()))
if _os.fork() == 0:
    _os.setsid()  # leaves the process group: the supervisor must find it through /proc
    open({pids!r} + "/escaped.pid", "w").write(str(_os.getpid()))
    _time.sleep(3600)
while True:
    _time.sleep(0.2)
"""


def test_settings_that_never_return_are_a_finding_and_every_process_is_killed(demo, tmp_path):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    line = append_settings(demo, HANG.format(pids=str(pid_dir)))
    before = tree_digest(demo)
    run, document = audit_json(demo, "--probe-timeout", "8")
    assert run.returncode == 1
    found = findings(document)
    timeout = found["django.settings_timeout"]
    assert timeout["severity"] == "critical"
    assert timeout["title"] == "Django did not answer within 8s"
    assert "while importing the settings" in timeout["detail"]
    # faulthandler's stack: the loop at the end of the appended code
    assert f"last seen at config/settings.py:{line + 8}" in timeout["detail"], timeout["detail"]
    assert "django.settings_error" not in found
    assert document["hosts"][0]["verdict"]["development"] == "not ready"
    started = pids(pid_dir)
    assert len(started) == 2, "the settings ran and forked"
    deadline = time.monotonic() + 5  # SIGKILL is delivered at once; /proc may lag a moment
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in started if alive(pid)], "a process of the probe survived its timeout"
    assert "Traceback" not in run.output
    assert tree_digest(demo) == before


def test_probe_timeout_flag_is_checked(demo):
    run = invoke("audit", "--project", str(demo), "--probe-timeout", "soon")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == "error: --probe-timeout: 'soon' is not a number of seconds"


def test_a_child_forked_by_the_settings_does_not_hold_the_audit(demo, tmp_path):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    append_settings(demo, f"""
import os as _os, time as _time
if _os.fork() == 0:
    open({str(pid_dir)!r} + "/child.pid", "w").write(str(_os.getpid()))
    _time.sleep(3600)
""")
    run, document = audit_json(demo, "--probe-timeout", "120")
    found = findings(document)
    assert "django.settings_timeout" not in found and "django.probe_killed" not in found
    assert document["hosts"][0]["facts"]["probe"]["error"] is None
    assert "env.debug" in found, "the probe reported in full"
    child = pids(pid_dir)
    assert len(child) == 1
    deadline = time.monotonic() + 5
    while alive(child[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child[0]), "the settings' child was left running"


def test_settings_that_kill_their_own_process(demo):
    append_settings(demo, "import os as _os, signal as _signal\n_os.kill(_os.getpid(), _signal.SIGKILL)")
    run, document = audit_json(demo)
    assert run.returncode == 1
    killed = findings(document)["django.probe_killed"]
    assert killed["severity"] == "critical"
    assert killed["detail"] == ("the probe was killed by SIGKILL during stage settings, before it could report "
                                "(while importing the settings)")
    assert "Traceback" not in run.output


def test_settings_that_exit_the_process_without_python_cleanup(demo):
    append_settings(demo, "import os as _os\n_os._exit(7)")
    run, document = audit_json(demo)
    killed = findings(document)["django.probe_killed"]
    assert killed["detail"].startswith("the probe exited with status 7 during stage settings, before it could report")


def test_one_hanging_host_of_a_fleet_does_not_hold_the_others(ssh_hosts, tmp_path):
    hosts = ssh_hosts(3)
    projects = projects_for(tmp_path, hosts)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    append_settings(projects[1], HANG.format(pids=str(pid_dir)))
    inventory, known = write_inventory(tmp_path, hosts, projects, extra_vars={"web2": {"probe_timeout": 8}})
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known), "--forks", "3")
    assert run.returncode == 1, run.stderr
    result = by_host(document)
    assert [result[h]["status"] for h in ("web1", "web2", "web3")] == ["ok", "ok", "ok"]
    hung = {f["id"]: f for f in result["web2"]["findings"]}
    assert hung["django.settings_timeout"]["title"] == "Django did not answer within 8s"
    for name in ("web1", "web3"):
        ids = {f["id"] for f in result[name]["findings"]}
        assert "env.debug" in ids and "django.settings_timeout" not in ids
    started = pids(pid_dir)
    assert len(started) == 2
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in started if alive(pid)], "a process of the remote probe survived its timeout"


def test_probe_timeout_host_var_must_be_a_number(ssh_hosts, tmp_path):
    hosts = ssh_hosts(1)
    projects = projects_for(tmp_path, hosts)
    inventory, known = write_inventory(tmp_path, hosts, projects, extra_vars={"web1": {"probe_timeout": "soon"}})
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known))
    assert by_host(document)["web1"]["status"] == "failed"
    assert by_host(document)["web1"]["error"] == "web1: probe_timeout must be a number of seconds, got 'soon'"
    assert os.environ.get("REMEDIATION_PROBE_TIMEOUT") is None
