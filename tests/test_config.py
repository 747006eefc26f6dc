"""remediation.yaml / invoke.yaml's `remediation:` key: found in the working directory (else the
--project folder), relative paths from the file's folder, flags override it, and every mistake is one
line `file:line: what`, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import copy_demo, tree_digest

from config_helpers import remediate


@pytest.fixture
def site(tmp_path) -> Path:
    """A folder holding a copy of the demo (thebot/) and nothing else: no Django project of its own."""
    copy_demo(tmp_path / "thebot")
    return tmp_path


def audit_json(run) -> dict:
    return json.loads(run.stdout)


def test_settings_come_from_remediation_yaml(site):
    (site / "remediation.yaml").write_text("project: thebot\nformat: json\nfail_level: critical\n"
                                           "env_file: thebot/.env.example\n")
    done = remediate("audit", cwd=site)
    assert done.returncode == 1, done.stderr
    document = audit_json(done)
    assert document["fail_level"] == "critical"
    assert document["hosts"][0]["project"] == str(site / "thebot")
    assert document["hosts"][0]["facts"]["env"]["path"] == str(site / "thebot" / ".env.example")


def test_flags_override_the_file(site, tmp_path):
    (site / "remediation.yaml").write_text("project: thebot\nformat: json\nfail_level: critical\n")
    other = copy_demo(tmp_path / "other")
    done = remediate("audit", "--fail-level", "low", "--project", str(other), cwd=site)
    document = audit_json(done)
    assert (document["fail_level"], document["hosts"][0]["project"]) == ("low", str(other))
    markdown = remediate("audit", "--format", "markdown", cwd=site)
    assert markdown.returncode == 1 and markdown.stdout.startswith("# ")


def test_the_project_in_the_working_directory_is_the_default(site):
    here = remediate("audit", "--format", "json", cwd=site / "thebot")
    assert audit_json(here)["hosts"][0]["project"] == str(site / "thebot")
    below = remediate("audit", "--format", "json", cwd=site / "thebot" / "backend")
    assert audit_json(below)["hosts"][0]["project"] == str(site / "thebot" / "backend")


def test_the_projects_own_file_is_read_when_the_working_directory_has_none(site):
    (site / "thebot" / "remediation.yaml").write_text("format: json\nfail_level: medium\n")
    done = remediate("audit", "--project", "thebot", cwd=site)
    assert audit_json(done)["fail_level"] == "medium"


def test_invoke_yaml_remediation_key(site):
    (site / "thebot" / "invoke.yaml").write_text("run:\n  echo: true\nremediation:\n  format: json\n"
                                                 "  fail_level: info\n")
    done = remediate("audit", cwd=site / "thebot")
    assert audit_json(done)["fail_level"] == "info"


def test_invoke_yaml_without_our_key_is_not_ours(site):
    (site / "thebot" / "invoke.yaml").write_text("run:\n  echo: true\n")
    done = remediate("audit", "--format", "json", cwd=site / "thebot")
    assert audit_json(done)["fail_level"] == "high"


def test_config_inventory_for_the_inventory_task(site):
    (site / "hosts.yml").write_text("all:\n  hosts:\n    localhost:\n      project: thebot\n")
    (site / "remediation.yaml").write_text("inventory: hosts.yml\n")
    done = remediate("inventory", cwd=site)
    assert done.returncode == 0, done.stderr
    assert [h["name"] for h in json.loads(done.stdout)] == ["localhost"]
    missing = remediate("inventory", cwd=site / "thebot")
    assert (missing.returncode, missing.stderr) == (
        2, "error: -i INVENTORY: name the inventory (or set `inventory` in remediation.yaml)\n")


def test_domains_from_the_file_are_fix_prods_domain_flags(site):
    project = site / "thebot"
    without = remediate("fix-prod", "--check", "--diff", cwd=project)
    flags = remediate("fix-prod", "--check", "--diff", "--domain", "thebot.example.com", cwd=project)
    (project / "remediation.yaml").write_text("domains: [thebot.example.com]\n")
    before = tree_digest(project)
    configured = remediate("fix-prod", "--check", "--diff", cwd=project)
    assert tree_digest(project) == before
    assert (configured.returncode, configured.stdout) == (flags.returncode, flags.stdout)
    assert "ALLOWED_HOSTS and CORS need the production domain: pass --domain" in without.stdout
    assert "ALLOWED_HOSTS and CORS need the production domain" not in configured.stdout


BAD = [
    ("format: [json\n", "remediation.yaml:2: not valid YAML (expected ',' or ']', but got '<stream end>')"),
    ("fail_level: high\nfail-level: low\n", "remediation.yaml:2: unknown setting 'fail-level' (known: project, "
     "python, env_file, inventory, fail_level, format, formats, domains, waivers)"),
    ("fail_level: severe\n", "remediation.yaml:1: fail_level: unknown severity 'severe' "
     "(choose from info, low, medium, high, critical)"),
    ("project:\n  - a\n", "remediation.yaml:2: project must be a non-empty string"),
    ("domains: thebot.example.com\n", "remediation.yaml:1: domains must be a list of non-empty strings"),
    ("- project\n", "remediation.yaml:1: expected a mapping of settings (project, fail_level, waivers, ...)"),
    ("format: json\nformats: [json]\n", "remediation.yaml:2: give format or formats, not both"),
    ("formats:\n  - text\n  - yaml:out.yaml\n", "remediation.yaml:3: unknown format 'yaml:out.yaml' (choose from "
     "text, markdown, json, junit, sarif; junit and sarif as NAME:FILE too)"),
    ("formats: [json, markdown]\n", "remediation.yaml:1: json, markdown would all go to stdout; give all but one a "
     "file (NAME:PATH)"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[b[1].split(": ", 1)[1][:30] for b in BAD])
def test_a_malformed_file_is_one_line_and_exit_2_and_nothing_written(site, text, message):
    project = site / "thebot"
    (project / "remediation.yaml").write_text(text)
    before = tree_digest(site)
    done = remediate("audit", "--output", str(project / "report.txt"), cwd=project)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: {project}/{message}\n"
    assert tree_digest(site) == before


def test_both_files_configure_us_is_refused(site):
    project = site / "thebot"
    (project / "remediation.yaml").write_text("format: json\n")
    (project / "invoke.yaml").write_text("remediation:\n  format: text\n")
    done = remediate("audit", cwd=project)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"error: {project}/remediation.yaml and {project}/invoke.yaml both configure "
                           "django-remediation: keep one\n")


def test_an_unreadable_config_is_one_line(site):
    project = site / "thebot"
    (project / "remediation.yaml").write_bytes(b"format: \xff\xfe\n")
    done = remediate("audit", cwd=project)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: {project}/remediation.yaml: ") and done.stderr.count("\n") == 1


def test_only_a_django_manage_py_makes_the_default_project(tmp_path):
    from remediation.resources import DEMO_PROJECT, cwd_project

    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "manage.py").write_text("def main():\n    pass\n")  # a module of that name only
    assert cwd_project(tmp_path) is None
    done = remediate("audit", "--format", "json", cwd=tmp_path)
    assert audit_json(done)["hosts"][0]["project"] == str(DEMO_PROJECT)


def test_two_projects_one_level_down_ask_for_project(tmp_path):
    for name in ("api", "admin"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manage.py").write_text("import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'x')\n")
    done = remediate("audit", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"error: {tmp_path}: several manage.py one level down (admin, api); "
                           "name one with --project\n")


def test_with_project_and_inventory_in_the_file_audit_runs_on_the_inventory(site):
    (site / "hosts.yml").write_text("all:\n  hosts:\n    localhost:\n      project: thebot\n")
    (site / "remediation.yaml").write_text("inventory: hosts.yml\nproject: elsewhere\nformat: json\n")
    done = remediate("audit", cwd=site)
    assert done.returncode == 1, done.stderr
    (host,) = audit_json(done)["hosts"]
    assert (host["host"], host["project"]) == ("localhost", str(site / "thebot"))
    flag = remediate("audit", "--project", "thebot/backend", cwd=site)
    assert [h["project"] for h in audit_json(flag)["hosts"]] == [str(site / "thebot" / "backend")]
