"""Waivers (as InSpec's): a waived finding is reported as waived and does not block; from its expiry
date on it blocks again and the report says so; a malformed waiver, one without reason or expiry, for
an id no check reports, or dated more than a year ahead is one line, exit 2, nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dotenv import dotenv_values
from urllib.parse import quote
from conftest import REPO, copy_demo, tree_digest

from config_helpers import days, remediate
from remediation.finding_ids import KNOWN_IDS, known
from remediation.masking import secret_values

CRITICAL = ["database.sqlite", "env.debug", "env.secret_key", "security.hsts", "security.ssl_redirect"]


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_demo(tmp_path / "thebot")


def flat(text: str) -> str:
    """The terminal report's words in order, its table cells' wrapped lines joined."""
    return " ".join(re.sub(r"[│┃]", " ", text).split())


def waivers_yaml(entries: list[dict], head: str = "fail_level: critical\n") -> str:
    lines = [head + "waivers:"]
    for entry in entries:
        first = True
        for key, value in entry.items():
            lines.append(f"  {'- ' if first else '  '}{key}: {value}")
            first = False
    return "\n".join(lines) + "\n"


def waive(ids, expires, reason="accepted for the pilot", host=None) -> list[dict]:
    return [{"id": i, **({"host": host} if host else {}), "reason": f'"{reason}"', "expires": expires} for i in ids]


def test_waived_findings_are_reported_and_do_not_block(project):
    (project / "remediation.yaml").write_text(waivers_yaml(waive(CRITICAL, days(30))))
    done = remediate("audit", "--format", "json", cwd=project)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    host = json.loads(done.stdout)["hosts"][0]
    assert (host["blocked"], host["waived"]) == (False, 5)
    waived = {f["id"]: f["waiver"] for f in host["findings"] if f["waiver"]}
    assert waived == {i: {"reason": "accepted for the pilot", "expires": days(30), "host": None} for i in CRITICAL}
    assert all(f["expired_waiver"] is None for f in host["findings"])
    assert host["verdict"]["production"] == "not ready"  # the high findings still count (fail level aside)


def test_waived_findings_in_the_text_and_markdown_reports(project):
    (project / "remediation.yaml").write_text(waivers_yaml(waive(["env.debug"], days(10), "demo stays in debug")))
    text = remediate("audit", cwd=project)
    assert text.returncode == 1
    assert f"waived until {days(10)}: demo stays in debug" in flat(text.stdout)
    assert re.search(r"Production is BLOCKED at fail level critical \(\d+ findings, 1 waived\)", text.stdout)
    markdown = remediate("audit", "--format", "markdown", cwd=project)
    assert f"(waived until {days(10)}: demo stays in debug)" in markdown.stdout
    blockers = markdown.stdout.split("**Blockers for Production:**")[1].split("\n\n")[0]
    assert "`env.debug`" not in blockers and "`env.secret_key`" in blockers
    planted = secret_values(dotenv_values(project / ".env"))
    assert planted  # the demo's .env holds secrets: none may show in any report
    for output in (text.output, markdown.output, remediate("audit", "--format", "json", cwd=project).output):
        assert not [s for s in planted if s in output or quote(s) in output]


@pytest.mark.parametrize("expires", [days(-1), days(0)], ids=["yesterday", "today"])
def test_an_expired_waiver_blocks_again_and_the_report_says_so(project, expires):
    entries = waive(CRITICAL[:4], days(30)) + waive(["security.ssl_redirect"], expires, "until the proxy moves")
    (project / "remediation.yaml").write_text(waivers_yaml(entries))
    done = remediate("audit", "--format", "json", cwd=project)
    assert done.returncode == 1
    host = json.loads(done.stdout)["hosts"][0]
    (redirect,) = [f for f in host["findings"] if f["id"] == "security.ssl_redirect"]
    assert redirect["waiver"] is None
    assert redirect["expired_waiver"] == {"reason": "until the proxy moves", "expires": expires, "host": None}
    assert (host["blocked"], host["waived"]) == (True, 4)
    text = remediate("audit", cwd=project)
    assert f"waiver expired on {expires}: blocks again (until the proxy moves)" in flat(text.stdout)
    markdown = remediate("audit", "--format", "markdown", cwd=project)
    assert f"(**waiver expired on {expires}**: blocks again; until the proxy moves)" in markdown.stdout


def test_a_waiver_for_one_host_applies_on_that_host_only(project):
    (project / "remediation.yaml").write_text(waivers_yaml(waive(CRITICAL, days(30), host="localhost")))
    assert remediate("audit", cwd=project).returncode == 0
    (project / "remediation.yaml").write_text(waivers_yaml(waive(CRITICAL, days(30), host="web1")))
    done = remediate("audit", "--format", "json", cwd=project)
    assert done.returncode == 1
    assert json.loads(done.stdout)["hosts"][0]["waived"] == 0


def test_fix_prod_reports_waived_findings_after_and_they_do_not_block(project):
    (project / "remediation.yaml").write_text(waivers_yaml(waive(CRITICAL, days(30))))
    before = tree_digest(project)
    done = remediate("fix-prod", "--check", "--format", "json", cwd=project)
    assert tree_digest(project) == before
    assert done.returncode == 1  # needs input: the fixes' outcome, which waivers do not change
    audit = json.loads(done.stdout)["hosts"][0]["audit"]
    assert sorted(f["id"] for f in audit["findings"] if f["waiver"]) == CRITICAL
    assert (audit["blocked"], audit["waived"]) == (False, 5)


BAD = [
    ([{"id": "env.debug", "expires": "{soon}"}], 4, "waiver without 'reason' (every waiver needs id, reason and expires)"),
    ([{"id": "env.debug", "reason": "x"}], 4, "waiver without 'expires' (every waiver needs id, reason and expires)"),
    ([{"reason": "x", "expires": "{soon}"}], 4, "waiver without 'id' (every waiver needs id, reason and expires)"),
    ([{"id": "env.debug", "reason": "x", "expires": "31/12/2026"}], 6,
     "waiver expires '31/12/2026': give a date as YYYY-MM-DD"),
    ([{"id": "env.debugg", "reason": "x", "expires": "{soon}"}], 4,
     "waiver for 'env.debugg': no check reports that id (see the README's findings table)"),
    ([{"id": "env.debug", "reason": "x", "expires": "{far}"}], 6,
     "waiver for 'env.debug' expires {far}, more than a year ahead: waive for at most 366 days and renew"),
    ([{"id": "env.debug", "reason": "x", "expires": "{soon}", "until": "{soon}"}], 7,
     "unknown waiver field 'until' (known: id, host, reason, expires)"),
    ([{"id": "env.debug", "reason": "''", "expires": "{soon}"}], 4,
     "waiver without 'reason' (every waiver needs id, reason and expires)"),
    ([{"id": "env.debug", "reason": "[a, b]", "expires": "{soon}"}], 5, "waiver reason must be a non-empty string"),
    ([{"id": "env.debug", "reason": "x", "expires": "{soon}"}, {"id": "env.debug", "reason": "y", "expires": "{soon}"}],
     7, "a second waiver for 'env.debug': keep one"),
]


@pytest.mark.parametrize("entries,line,message", BAD, ids=[b[2][:40] for b in BAD])
def test_a_bad_waiver_is_one_line_and_exit_2_and_nothing_written(project, entries, line, message):
    fill = {"soon": days(30), "far": days(400)}
    entries = [{k: v.format(**fill) for k, v in e.items()} for e in entries]
    (project / "remediation.yaml").write_text(waivers_yaml(entries, head="format: json\nfail_level: high\n"))
    before = tree_digest(project)
    for task in (["audit", "--output", "report.json"], ["fix-prod", "--domain", "thebot.example.com"]):
        done = remediate(*task, cwd=project)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == f"error: {project}/remediation.yaml:{line}: {message.format(**fill)}\n"
    assert tree_digest(project) == before


def test_waivers_must_be_a_list(project):
    (project / "remediation.yaml").write_text("waivers:\n  id: env.debug\n")
    done = remediate("audit", cwd=project)
    assert (done.returncode, done.stderr) == (
        2, f"error: {project}/remediation.yaml:2: waivers must be a list of {{id, reason, expires, host}}\n")


def readme_ids() -> set[str]:
    ids, in_table = set(), False
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| id |"):
            in_table = True
        elif in_table and not line.startswith("|"):
            in_table = False
        elif in_table and line.startswith("| `"):
            ids |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return ids


def test_the_known_ids_are_the_readmes_findings_tables():
    assert readme_ids() == KNOWN_IDS | {"external.<service>"}
    assert [known(i) for i in ("external.telegram", "security.W019", "models.E001", "env.debug", "env.nope")] == [
        True, True, True, True, False]


@pytest.mark.parametrize("fmt", ["junit", "sarif"])
def test_waived_findings_in_junit_and_sarif(project, fmt):
    (project / "remediation.yaml").write_text(waivers_yaml(waive(["env.debug"], days(30), "demo stays in debug")))
    done = remediate("audit", "--format", fmt, cwd=project)
    assert done.returncode == 1
    if fmt == "sarif":
        results = json.loads(done.stdout)["runs"][0]["results"]
        (debug,) = [r for r in results if r["ruleId"] == "env.debug"]
        assert [s["kind"] for s in debug["suppressions"]] == ["external"]
        assert "demo stays in debug" in json.dumps(debug["suppressions"])
    else:
        import xml.etree.ElementTree as ElementTree

        skipped = [s for s in ElementTree.fromstring(done.stdout).iter("skipped")
                   if "demo stays in debug" in (s.get("message") or "") + (s.text or "")]
        assert len(skipped) == 1


def test_verify_applies_the_waivers_too(tmp_path):
    url = "http://127.0.0.1:9/"  # the discard port: connection refused, live.unreachable
    assert remediate("verify", url, cwd=tmp_path).returncode == 1
    (tmp_path / "remediation.yaml").write_text(waivers_yaml(waive(["live.unreachable"], days(5), "not up yet"),
                                                            head="format: json\n"))
    done = remediate("verify", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (finding,) = json.loads(done.stdout)["urls"][0]["findings"]
    assert (finding["id"], finding["waiver"]) == ("live.unreachable", {"reason": "not up yet", "expires": days(5),
                                                                      "host": None})
