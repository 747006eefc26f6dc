"""End to end: `invoke audit` as a subprocess on temp copies of the demo project."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import DEMO, git, invoke, tree_digest

SEED_FINDINGS = {
    "git.unpushed",
    "env.debug",
    "env.secret_key",
    "env.allowed_hosts",
    "env.environment",
    "env.database_url",
    "external.telegram",
    "external.openrouter",
    "external.yookassa",
    "external.email",
    "env.local_url",  # FRONTEND_URL left at its default http://localhost:3000
    "node.modules_missing",
    "node.build_missing",
    "database.sqlite",
    "database.migrations_unapplied",
    "django.static_not_collected",
    "django.media_local",
    "django.cors_local",
    "cache.local",
    "channels.in_memory",
    "channels.daphne_disabled",
    "api.schema_warnings",
    "security.ssl_redirect",
    "security.hsts",
    "security.session_cookie_secure",
    "security.csrf_cookie_secure",
}


def docker_engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def audit_json(*args, **kwargs):
    run = invoke("audit", "--format", "json", *args, **kwargs)
    return run, json.loads(run.stdout) if run.stdout.strip() else None


def findings_by_id(document):
    return {f["id"]: f for f in document["hosts"][0]["findings"]}


def test_demo_in_git_with_unpushed_commits_gives_the_seed_findings(git_demo, redis_server):
    before = tree_digest(git_demo)
    run, document = audit_json("--project", str(git_demo))
    assert run.returncode == 1, run.stderr
    expected = SEED_FINDINGS | ({"services.docker_unavailable"} if not docker_engine_answers() else set())
    # The demo's .env (not ignored by its .gitignore) is committed with its dev key: the secret scan says so.
    expected |= {"git.secret_file_tracked", "git.secret_in_tree", "git.live_secret_in_history"}
    found = findings_by_id(document)
    assert set(found) == expected
    assert found["git.live_secret_in_history"]["detail"].startswith("the live SECRET_KEY is committed in .env (commit ")
    assert "3 commit(s) on main not pushed to origin/main" in found["git.unpushed"]["detail"]
    unapplied = found["database.migrations_unapplied"]["detail"]
    assert "invoices.0004_remove_invoice_check_invoice_amount_positive" in unapplied
    assert "invoices.0005_fix_enrollment_reference" in unapplied
    assert found["external.yookassa"]["needs"] == ["YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY"]
    assert found["security.hsts"]["django_ids"] == ["security.W004"]
    assert found["env.secret_key"]["django_ids"] == ["security.W009"]
    assert found["env.debug"]["severity"] == "critical"
    host = document["hosts"][0]
    assert host["verdict"] == {"development": "ready", "staging": "not ready", "production": "not ready"}
    assert host["blocked"] is True and document["blocked"] is True
    assert set(host["needs_input"]) >= {"TELEGRAM_BOT_TOKEN", "OPENROUTER_API_KEY", "EMAIL_HOST_PASSWORD"}
    assert tree_digest(git_demo) == before, "the audit wrote into the project"
    assert git(git_demo, "status", "--porcelain") == ""


def test_every_finding_has_the_documented_fields(git_demo):
    _, document = audit_json("--project", str(git_demo))
    for finding in document["hosts"][0]["findings"]:
        assert set(finding) >= {"id", "severity", "area", "title", "detail", "fix", "django_ids"}
        assert finding["severity"] in {"critical", "high", "medium", "low", "info"}
        assert finding["fix"]


def test_fail_level_critical_still_blocks_the_demo(git_demo):
    assert invoke("audit", "--project", str(git_demo), "--fail-level", "critical").returncode == 1


def test_markdown_report_has_the_seed_structure(git_demo, tmp_path):
    out = tmp_path / "report.md"
    run = invoke("audit", "--project", str(git_demo), "--format", "markdown", "--output", str(out))
    assert run.returncode == 1
    assert run.stdout == ""
    text = out.read_text()
    for heading in ("## 1. GIT STATUS", "## 6. DATABASE CONFIGURATION", "## 13. PRODUCTION SECURITY",
                    "## PRODUCTION SECURITY ISSUES", "## CHECKLIST FOR DEPLOYMENT", "## DEPLOYMENT READINESS"):
        assert heading in text
    assert "- [ ] Generate secure SECRET_KEY (50+ characters) (env.secret_key)" in text
    assert "- [x] Set up Telegram bot token" not in text
    assert "| **Production** | not ready |" in text
    assert "**Needs input from a person:**" in text
    assert "Database:      sqlite (answers)" in text and "Channel layer: InMemoryChannelLayer" in text


def test_text_report_groups_by_area(git_demo):
    run = invoke("audit", "--project", str(git_demo))
    assert run.returncode == 1
    assert "1. Git status" in run.stdout and "13. Production security" in run.stdout
    assert "Production is BLOCKED at fail level high" in run.stdout


def test_default_project_is_the_bundled_demo_and_stays_untouched():
    before = tree_digest(DEMO)
    run, document = audit_json()
    assert run.returncode == 1
    assert document["hosts"][0]["project"] == str(DEMO)
    assert tree_digest(DEMO) == before


def test_demo_task_copies_the_demo(tmp_path):
    dest = tmp_path / "mine"
    run = invoke("demo", "--dest", str(dest))
    assert run.returncode == 0, run.stderr
    assert (dest / "backend" / "manage.py").is_file() and (dest / ".env").is_file()
    again = invoke("demo", "--dest", str(dest))
    assert again.returncode == 2 and "exists and is not empty" in again.stderr


@pytest.mark.parametrize("args, message", [
    (("--format", "yaml"), "unknown format 'yaml'"),
    (("--fail-level", "severe"), "unknown severity 'severe'"),
    (("--output", "/nonexistent-dir/report.json"), "/nonexistent-dir: no such directory"),
    (("-l", "web1"), "--limit selects hosts of an inventory: pass -i INVENTORY too"),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    run = invoke("audit", *args)
    assert run.returncode == 2
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert run.stdout == ""


def test_one_django_start_per_audit(demo, tmp_path):
    starts = tmp_path / "starts.log"
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text(f"open({str(starts)!r}, 'a').write('start\\n')\n" + settings.read_text())
    run = invoke("audit", "--project", str(demo), "--format", "json")
    assert run.returncode == 1
    assert starts.read_text() == "start\n", "the settings must be imported exactly once per audit"
