"""Several formats from one real audit of a demo copy: text on stdout, SARIF and JUnit in files,
both valid against their vendored schemas; one JUnit test case per check the runner recorded;
SARIF locations at the exact lines of the demo's files; fingerprints that survive a re-run and an
edit that moves the lines; waived findings rendered as waived."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from conftest import git, invoke
from dotenv import dotenv_values
from formats_helpers import (MISSING_REQUIREMENT, line_of, outcome, physical, repo_demo, results_by_rule, junit_cases,
                             validate_junit, validate_sarif)

from remediation.checks import MODULES
from remediation.checks.base import FAILED, PASSED, SKIPPED, CheckRun
from remediation.findings import Finding, HostReport, Location, Severity
from remediation.report import junit, sarif
from remediation.runner import audit_project


@pytest.fixture
def project(tmp_path):
    return repo_demo(tmp_path)


def test_one_run_writes_text_sarif_and_junit(project, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run = invoke("audit", "--project", str(project), "--format", "text", "--format", f"sarif:{out / 'audit.sarif'}",
                 "--format", f"junit:{out / 'audit.xml'}")
    assert run.returncode == 1, run.output
    assert run.stderr == ""
    assert "Production is BLOCKED at fail level high" in run.stdout
    assert sorted(p.name for p in out.iterdir()) == ["audit.sarif", "audit.xml"]
    secret = dotenv_values(project / ".env")["SECRET_KEY"]
    everything = run.output + (out / "audit.sarif").read_text() + (out / "audit.xml").read_text()
    assert [s for s in (secret, quote(secret, safe=""), json.dumps(secret)[1:-1]) if s in everything] == []

    report, _ = audit_project(str(project))  # the runner's own record of which checks ran
    assert len(report.checks) == sum(len(module.CHECKS) for module in MODULES)

    root = validate_junit((out / "audit.xml").read_text())
    cases = junit_cases(root)
    assert len(cases) == len(report.checks)
    assert int(root.get("tests")) == len(report.checks)
    assert [(c.get("classname"), c.get("name"), outcome(c)) for c in cases] == [
        (f"localhost.{r.area}", r.name, r.status) for r in report.checks]
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites][:3] == ["localhost · Git status", "localhost · Docker & services",
                                                   "localhost · Environment variables"]
    debug = next(c for c in cases if c.get("name") == "debug_on")
    failure = debug.find("failure")
    assert failure.get("message") == "env.debug (critical)"
    assert failure.text.splitlines() == [
        "DEBUG is True", "DEBUG=True shows tracebacks and settings to anyone; must be False in production",
        "fix: invoke fix-prod repairs it (fix env_file)",
        f"at backend/config/settings.py:{line_of(project / 'backend/config/settings.py', 'DEBUG =')}"]
    unpushed = next(c for c in cases if c.get("name") == "unpushed_commits")
    assert unpushed.find("skipped").text == "does not apply: the branch tracks no upstream"

    document = validate_sarif((out / "audit.sarif").read_text())
    found = results_by_rule(document)
    settings = project / "backend" / "config" / "settings.py"
    assert physical(found["env.debug"][0]) == ("thebot/backend/config/settings.py", line_of(settings, "DEBUG ="),
                                               "%SRCROOT%")
    assert physical(found["external.telegram"][0]) == ("thebot/.env", line_of(project / ".env", "TELEGRAM_BOT_TOKEN="),
                                                       "%SRCROOT%")
    assert physical(found["python.missing"][0]) == (
        "thebot/backend/requirements.txt", line_of(project / "backend/requirements.txt", MISSING_REQUIREMENT),
        "%SRCROOT%")
    first_unapplied = report.facts["probe"]["migrations"]["plan"][0].split(".", 1)
    assert physical(found["database.migrations_unapplied"][0]) == (
        f"thebot/backend/{first_unapplied[0]}/migrations/{first_unapplied[1]}.py", None, "%SRCROOT%")
    assert document["runs"][0]["originalUriBaseIds"] == {"%SRCROOT%": {"uri": (project.parent.resolve()).as_uri() + "/"}}
    no_remote = found["git.no_remote"][0]["locations"][0]
    assert no_remote == {"logicalLocations": [{"name": "git", "fullyQualifiedName": "localhost/git", "kind": "module"}]}

    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(dict.fromkeys(f.id for f in report.findings))
    debug_rule = rules[[r["id"] for r in rules].index("env.debug")]
    assert debug_rule["defaultConfiguration"] == {"level": "error"}
    assert debug_rule["properties"]["security-severity"] == "9.5"
    assert debug_rule["help"]["text"] == "Fix: invoke fix-prod repairs it (fix env_file)"
    levels = {r["ruleId"]: r["level"] for r in document["runs"][0]["results"]}
    assert (levels["env.environment"], levels["git.no_remote"], levels["services.docker_unavailable"]) == (
        "warning", "warning", "note")
    assert len(document["runs"][0]["results"]) == len(report.findings)


def fingerprints(project, tmp_path, name) -> dict[str, str]:
    target = tmp_path / name
    run = invoke("audit", "--project", str(project), "--format", f"sarif:{target}")
    assert run.returncode == 1 and run.output == "", run.output
    document = validate_sarif(target.read_text())
    return {r["ruleId"]: (r["partialFingerprints"]["djangoRemediation/v1"], physical(r)[1] if "physicalLocation" in
                          r["locations"][0] else None) for r in document["runs"][0]["results"]}


def test_fingerprints_survive_a_rerun_and_an_edit_that_moves_lines(project, tmp_path):
    first = fingerprints(project, tmp_path, "first.sarif")
    assert fingerprints(project, tmp_path, "again.sarif") == first
    settings = project / "backend" / "config" / "settings.py"
    settings.write_text("# one\n# two\n# three\n" + settings.read_text())
    env = project / ".env"
    env.write_text("# moved\n" + env.read_text())
    git(project.parent, "commit", "-q", "-am", "an edit that moves the lines")
    moved = fingerprints(project, tmp_path, "moved.sarif")
    assert {k: v[0] for k, v in moved.items()} == {k: v[0] for k, v in first.items()}
    assert (first["env.debug"][1] + 3, first["external.telegram"][1] + 1) == (moved["env.debug"][1],
                                                                             moved["external.telegram"][1])
    assert moved["env.debug"][1] == line_of(settings, "DEBUG =")


def test_all_formats_at_once_render_the_same_reports(project, tmp_path):
    names = {"json": "a.json", "markdown": "a.md", "junit": "a.xml", "sarif": "a.sarif"}
    run = invoke("audit", "--project", str(project), "--format", "text",
                 *[arg for fmt, name in names.items() for arg in ("--format", f"{fmt}:{tmp_path / name}")])
    assert run.returncode == 1, run.output
    ids = [f["id"] for f in json.loads((tmp_path / "a.json").read_text())["hosts"][0]["findings"]]
    sarif_ids = [r["ruleId"] for r in validate_sarif((tmp_path / "a.sarif").read_text())["runs"][0]["results"]]
    root = validate_junit((tmp_path / "a.xml").read_text())
    junit_ids = [f.get("message").split(" ")[0] for f in root.iter("failure")]
    assert sarif_ids == ids
    assert sorted(junit_ids) == sorted(ids)
    assert "# " in (tmp_path / "a.md").read_text()
    assert all(f"{i}" in run.stdout for i in ("env.debug", "database.sqlite"))


def test_checks_that_cannot_run_are_skipped_not_passed(tmp_path):
    """Settings that do not import: every check needing Django's facts is skipped with the reason."""
    project = repo_demo(tmp_path)
    settings = project / "backend" / "config" / "settings.py"
    settings.write_text(settings.read_text() + "\nraise RuntimeError('broken on purpose')\n")
    target = tmp_path / "broken.xml"
    run = invoke("audit", "--project", str(project), "--format", f"junit:{target}")
    assert run.returncode == 1, run.output
    cases = {c.get("name"): c for c in junit_cases(validate_junit(target.read_text()))}
    assert len(cases) == sum(len(module.CHECKS) for module in MODULES)
    assert cases["settings_error"].find("failure").get("message") == "django.settings_error (critical)"
    for name in ("debug_on", "secret_key", "security_ssl_redirect", "per_process_cache", "sqlite_in_use"):
        assert cases[name].find("skipped").text == "does not apply: Django's settings could not be read", name
    assert cases["django_messages"].find("skipped").text == "does not apply: Django's system checks did not run"
    document = validate_sarif(sarif.render([audit_project(str(project))[0]], Severity.HIGH))
    error = results_by_rule(document)["django.settings_error"][0]
    assert physical(error)[:2] == ("thebot/backend/config/settings.py", len(settings.read_text().splitlines()))


@dataclass(frozen=True)
class WaivedFinding(Finding):
    """A finding as the config helper's waivers mark it (``waiver``: reason, expires, host)."""

    waiver: dict | None = None


def waived_report() -> HostReport:
    waiver = {"reason": "staging box, DEBUG on by design", "expires": "2099-01-01", "host": "web1"}
    debug = WaivedFinding(id="env.debug", severity=Severity.CRITICAL, area="env", title="DEBUG is True",
                          detail="DEBUG=True", fix="env_file", location=Location("app/settings.py", 12), waiver=waiver)
    key = Finding(id="env.secret_key", severity=Severity.CRITICAL, area="env", title="SECRET_KEY is insecure",
                  detail="SECRET_KEY is short", fix="secret_key")
    hosts = WaivedFinding(id="env.allowed_hosts", severity=Severity.HIGH, area="env", title="ALLOWED_HOSTS",
                          detail="*", fix="env_file", waiver={"reason": "behind a proxy", "expires": None})
    checks = [CheckRun("debug_on", "env", FAILED, None, ("env.debug",)),
              CheckRun("secret_key", "env", FAILED, None, ("env.secret_key",)),
              CheckRun("allowed_hosts", "env", FAILED, None, ("env.allowed_hosts",)),
              CheckRun("environment_name", "env", PASSED),
              CheckRun("external_services", "env", SKIPPED, "the settings' environment reads were not recorded")]
    return HostReport(host="web1", project="/srv/app", findings=[debug, key, hosts], checks=checks,
                      facts={"root": "/srv/app", "git": {"root": None}})


def test_waived_findings_are_skipped_in_junit_and_suppressed_in_sarif():
    report = waived_report()
    cases = {c.get("name"): c for c in junit_cases(validate_junit(junit.render([report], Severity.HIGH)))}
    assert [(name, outcome(case)) for name, case in cases.items()] == [
        ("debug_on", "skipped"), ("secret_key", "failed"), ("allowed_hosts", "skipped"), ("environment_name", "passed"),
        ("external_services", "skipped")]
    assert cases["debug_on"].find("skipped").text == (
        "env.debug: waived: staging box, DEBUG on by design until 2099-01-01 on web1")
    assert cases["allowed_hosts"].find("skipped").text == "env.allowed_hosts: waived: behind a proxy"
    assert cases["external_services"].find("skipped").text == (
        "does not apply: the settings' environment reads were not recorded")

    document = validate_sarif(sarif.render([report], Severity.HIGH))
    results = results_by_rule(document)
    assert results["env.debug"][0]["suppressions"] == [
        {"kind": "external", "status": "accepted",
         "justification": "waived: staging box, DEBUG on by design until 2099-01-01 on web1"}]
    assert "suppressions" not in results["env.secret_key"][0]
    assert physical(results["env.debug"][0]) == ("app/settings.py", 12, "%SRCROOT%")
    assert "originalUriBaseIds" not in document["runs"][0]  # not this machine's files


def test_project_text_is_data_in_both_formats():
    """Markup-looking text in a finding stays text: escaped in XML, a plain string in JSON."""
    nasty = "<failure message='x'>]]>&amp; [bold]</failure>"
    finding = Finding(id="django.W999", severity=Severity.MEDIUM, area="django", title=nasty, detail=nasty,
                      fix="manual", location=Location("a b/set<tings>.py", 3))
    report = HostReport(host="h", project="/p", findings=[finding],
                        checks=[CheckRun("django_messages", "django", FAILED, None, ("django.W999",))],
                        facts={"root": "/p", "git": {"root": None}})
    root = validate_junit(junit.render([report], Severity.HIGH))
    assert root.find("./testsuite/testcase/failure").text.splitlines()[0] == nasty
    document = validate_sarif(sarif.render([report], Severity.HIGH))
    assert document["runs"][0]["results"][0]["message"]["text"] == f"{nasty}: {nasty}"
    assert physical(document["runs"][0]["results"][0])[0] == "a%20b/set%3Ctings%3E.py"


def test_settings_lines_follow_star_imports(tmp_path, monkeypatch):
    """Split settings: the module's own assignment wins over what it star-imports; a setting only
    assigned inside an ``if`` is found there; nothing assigned: not in the map."""
    import importlib

    from remediation.probe.sources import settings_source

    package = tmp_path / "conf_split"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text("import os\nDEBUG = False\nALLOWED_HOSTS = []\nif os.environ.get('X'):\n"
                                     "    SECURE_SSL_REDIRECT = True\nname = 'lower case is not a setting'\n")
    (package / "prod.py").write_text("from .base import *  # noqa\n\nDEBUG: bool = True\nALLOWED_HOSTS += ['a']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("conf_split.prod")
    found = settings_source(str(tmp_path), "conf_split.prod")
    assert found == {"file": "conf_split/prod.py", "assignments": {
        "DEBUG": ["conf_split/prod.py", 3], "ALLOWED_HOSTS": ["conf_split/prod.py", 4],
        "SECURE_SSL_REDIRECT": ["conf_split/base.py", 5]}}


def test_a_location_the_check_set_is_kept(tmp_path):
    """The secret scan knows the committed file: the runner's locator leaves its location alone."""
    from remediation.checks.locations import locate

    report, _ = audit_project(str(repo_demo(tmp_path)))
    mine = Finding(id="env.debug", severity=Severity.CRITICAL, area="env", title="t", detail="d", fix="manual",
                   location=Location("config/leaked.py", 7))
    assert locate(None, mine) is mine
    assert [f.location for f in report.findings if f.id == "env.debug"] == [
        Location("backend/config/settings.py", line_of(tmp_path / "repo/thebot/backend/config/settings.py", "DEBUG ="))]
