"""--format on the command line: bad formats and paths are one line, exit 2 and nothing written,
for audit, fix-prod and verify; fix-prod writes JUnit (the audit after and each fix) and SARIF;
verify writes JUnit against a real local HTTP server, one test case per row its rules built."""

from __future__ import annotations

import http.server
import os
import stat

import pytest
from conftest import invoke, tree_digest
from formats_helpers import junit_cases, outcome, validate_junit, validate_sarif
from verify_servers import close, stdlib_server

from remediation.checks import MODULES


def assert_usage(run, line: str) -> None:
    assert (run.returncode, run.stdout, run.stderr) == (2, "", f"error: {line}\n")


def listing(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "kept.txt").write_text("before\n")
    return folder


BAD = [
    (["--format", "xml"], "--format: unknown format 'xml' (choose from text, markdown, json, junit, sarif)"),
    (["--format", "sarif:"], "--format sarif: empty path after ':' (leave it out for stdout)"),
    (["--format", "text", "--format", "json"], "--format: text, json would all go to stdout; give all but one a file "
                                               "(FORMAT:PATH)"),
    (["--format", "junit:{out}/a.xml", "--format", "sarif:{out}/a.xml"],
     "--format: {out}/a.xml: named twice (junit and sarif)"),
    (["--format", "sarif:{out}/a.sarif", "--format", "junit:{out}/a.xml", "--output", "{out}/b"],
     "--output names the file of the one --format without :PATH; give each format its own FORMAT:PATH instead"),
    (["--format", "sarif:{out}/ok.sarif", "--format", "junit:{out}"], "--format junit: {out}: is a directory (name a file)"),
    (["--format", "sarif:{out}/ok.sarif", "--format", "junit:{out}/missing/a.xml"],
     "--format junit: {out}/missing: no such directory"),
    (["--format", "sarif:{out}/ok.sarif", "--format", "junit:/sys/audit.xml"],
     "--format junit: /sys/audit.xml: cannot be written (Permission denied)"),
    (["--format", "text", "--format", "sarif:{out}/block"], "--format sarif: {out}/block: not a regular file (a block "
                                                            "device or a socket)"),
]


@pytest.mark.parametrize("args,line", BAD, ids=[f"bad{n}" for n in range(len(BAD))])
def test_bad_formats_and_paths_exit_2_and_write_nothing(demo, out, args, line):
    os.mknod(out / "block", stat.S_IFBLK | 0o600, os.makedev(7, 250))  # a block device node, never opened
    before, files = tree_digest(demo), listing(out)
    run = invoke("audit", "--project", str(demo), *[a.format(out=out) for a in args])
    assert_usage(run, line.format(out=out))
    assert tree_digest(demo) == before
    assert listing(out) == files
    assert (out / "kept.txt").read_text() == "before\n"


def test_output_still_names_a_single_formats_file(demo, out):
    run = invoke("audit", "--project", str(demo), "--format", "junit", "--output", str(out / "one.xml"))
    assert (run.returncode, run.stdout, run.stderr) == (1, "", "")
    assert len(junit_cases(validate_junit((out / "one.xml").read_text()))) == sum(len(m.CHECKS) for m in MODULES)
    run = invoke("audit", "--project", str(demo), "--format", "sarif:" + str(out / "two.sarif"), "--format", "json",
                 "--output", str(out / "two.json"))
    assert (run.returncode, run.stdout, run.stderr) == (1, "", "")
    assert '"schema": 1' in (out / "two.json").read_text()
    validate_sarif((out / "two.sarif").read_text())


def test_fix_prod_and_verify_check_formats_before_any_work(demo, out):
    before, files = tree_digest(demo), listing(out)
    assert_usage(invoke("fix-prod", "--project", str(demo), "--check", "--format", "markdown"),
                 "--format: unknown format 'markdown' (choose from text, json, junit, sarif)")
    assert_usage(invoke("fix-prod", "--project", str(demo), "--format", f"sarif:{out}/f.sarif", "--format",
                        "junit:/sys/fix.xml"), "--format junit: /sys/fix.xml: cannot be written (Permission denied)")
    assert_usage(invoke("verify", "http://127.0.0.1:9/", "--format", f"junit:{out}/v.xml", "--format",
                        f"sarif:{out}/nope/v.sarif"), f"--format sarif: {out}/nope: no such directory")
    assert tree_digest(demo) == before
    assert listing(out) == files


def test_fix_prod_check_writes_junit_and_sarif_of_the_audit_after(demo, out):
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--check", "--format", "text", "--format",
                 f"junit:{out}/fix.xml", "--format", f"sarif:{out}/fix.sarif", "--format", f"json:{out}/fix.json")
    assert run.returncode == 1, run.output
    assert "recap: localhost" in run.stdout
    assert tree_digest(demo) == before  # --check wrote nothing into the project
    import json

    document = json.loads((out / "fix.json").read_text())["hosts"][0]
    root = validate_junit((out / "fix.xml").read_text())
    fixes = root.find("./testsuite[@package='fix-prod']")
    assert [c.get("name") for c in fixes.findall("testcase")] == [f["name"] for f in document["fixes"]]
    expected = {"ok": "passed", "changed": "passed", "failed": "failed", "needs input": "failed", "skipped": "skipped"}
    assert [outcome(c) for c in fixes.findall("testcase")] == [expected[f["status"]] for f in document["fixes"]]
    audit_cases = [c for s in root.findall("testsuite") if s.get("package") != "fix-prod" for c in s.findall("testcase")]
    assert len(audit_cases) == sum(len(m.CHECKS) for m in MODULES)
    sarif = validate_sarif((out / "fix.sarif").read_text())
    assert sorted(r["ruleId"] for r in sarif["runs"][0]["results"]) == sorted(
        f["id"] for f in document["audit"]["findings"])
    assert sarif["runs"][0]["automationDetails"] == {"id": "django-remediation/fix-prod/"}


class Page(http.server.BaseHTTPRequestHandler):
    """A plain-HTTP site: 200 on /, 404 elsewhere (no TLS, no security headers)."""

    def do_GET(self):  # noqa: N802
        body = b"<html><body>the page</body></html>" if self.path == "/" else b"<h1>Not Found</h1>"
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_verify_writes_junit_per_rule_row(out):
    from remediation.verify import verify_options, verify_urls

    server = stdlib_server(Page)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        run = invoke("verify", url, "--format", "text", "--format", f"junit:{out}/verify.xml", "--format",
                     f"sarif:{out}/verify.sarif", "--ws-path", "none", "--admin-path", "none")
        checked, options = verify_options([url], None, None, "none", None, "none", [])
        reports, _ = verify_urls(checked, options)
    finally:
        close(server)
    assert run.returncode == 1, run.output
    root = validate_junit((out / "verify.xml").read_text())
    cases = junit_cases(root)
    assert root.get("name") == "django-remediation verify"
    assert [(c.get("name"), outcome(c)) for c in cases] == [(r.name, r.status) for r in reports[0].checks]
    assert cases[0].get("name") == "Reachable" and outcome(cases[0]) == "passed"
    assert {"passed", "failed", "skipped"} <= {outcome(c) for c in cases}
    failed_ids = sorted(f.get("message").split(" ")[0] for f in root.iter("failure"))
    assert failed_ids == sorted(f.id for f in reports[0].findings)
    sarif = validate_sarif((out / "verify.sarif").read_text())
    assert {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in sarif["runs"][0]["results"]} == {
        f"127.0.0.1:{server.server_address[1]}/live"}
