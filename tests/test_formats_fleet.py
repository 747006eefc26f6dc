"""JUnit and SARIF of a fleet audit over real sshd hosts: a test suite per host and area, the drift
check as a test case, an unreachable host as one error, SARIF locations of remote files relative
to each project and no file URI for a machine that is not this one."""

from __future__ import annotations

from conftest import invoke
from formats_helpers import junit_cases, line_of, outcome, physical, validate_junit, validate_sarif
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401  (fixtures)
from test_fleet import projects_for, write_inventory

from remediation.checks import MODULES

CHECKS = sum(len(module.CHECKS) for module in MODULES)


def test_fleet_junit_and_sarif(ssh_hosts, tmp_path):
    hosts = ssh_hosts(3)
    projects = projects_for(tmp_path, hosts)
    env = projects[1] / ".env"
    env.write_text(env.read_text().replace("SECRET_KEY=django-insecure-", "SECRET_KEY=django-insecure-x"))
    inventory, known = write_inventory(tmp_path, hosts, projects)
    hosts[2].stop()
    out = tmp_path / "out"
    out.mkdir()
    run = invoke("audit", "-i", str(inventory), "--known-hosts", str(known), "--format", f"junit:{out / 'a.xml'}",
                 "--format", f"sarif:{out / 'a.sarif'}", "--format", "text")
    assert run.returncode == 1, run.output
    assert "django-insecure-x" not in run.output + (out / "a.xml").read_text() + (out / "a.sarif").read_text()

    root = validate_junit((out / "a.xml").read_text())
    per_host: dict[str, list] = {}
    for suite in root.findall("testsuite"):
        per_host.setdefault(suite.get("hostname"), []).extend(suite.findall("testcase"))
    assert {h: len(cases) for h, cases in per_host.items()} == {"web1": CHECKS + 1, "web2": CHECKS + 1, "web3": 1}
    drift = {h: next(c for c in cases if c.get("name") == "drift_across_hosts") for h, cases in per_host.items()
             if h != "web3"}
    assert [f.get("message") for f in drift["web2"].findall("failure")] == ["drift.secret_key (high)"]
    assert outcome(drift["web1"]) == "passed"  # drift names the host that differs from the first
    error = per_host["web3"][0].find("error")
    assert error.get("type") == "unreachable" and "web3" in error.get("message")
    assert len(junit_cases(root)) == int(root.get("tests")) == 2 * (CHECKS + 1) + 1

    document = validate_sarif((out / "a.sarif").read_text())
    run_ = document["runs"][0]
    assert "originalUriBaseIds" not in run_  # remote hosts: no file URI on this machine
    debug = [r for r in run_["results"] if r["ruleId"] == "env.debug"]
    settings = projects[0] / "backend" / "config" / "settings.py"
    assert [(r["properties"]["host"], physical(r)) for r in debug] == [
        (h, ("backend/config/settings.py", line_of(settings, "DEBUG ="), "%SRCROOT%")) for h in ("web1", "web2")]
    assert len({r["partialFingerprints"]["djangoRemediation/v1"] for r in debug}) == 2  # one per host
    assert run_["invocations"][0]["executionSuccessful"] is False
    assert [n["message"]["text"].split(":")[0] for n in run_["invocations"][0]["toolExecutionNotifications"]] == ["web3"]
