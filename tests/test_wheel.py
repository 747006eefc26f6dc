"""The built wheel, installed into a fresh venv outside the checkout, runs every task from a project's
own folder: ``django-remediation`` (invoke's Program over remediation.tasks.ns), the templates and
the demo shipped as package data, --project defaulting to the project in the working directory, and
a project's own tasks.py reusing our tasks in one import."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import DEMO, REPO, tree_digest

import wheel_helpers

TASKS = ("audit", "demo", "deploy", "fix-prod", "inventory", "releases", "rollback", "tls", "vault", "verify")
DEMO_FINDINGS = {  # a fresh copy of the demo, outside git, as the checkout's own audit reports it
    "api.schema_warnings", "cache.local", "channels.daphne_disabled", "channels.in_memory",
    "database.migrations_unapplied", "database.sqlite", "django.cors_local", "django.media_local",
    "django.static_not_collected", "env.allowed_hosts", "env.database_url", "env.debug", "env.environment",
    "env.local_url", "env.secret_key", "external.email", "external.openrouter", "external.telegram",
    "external.yookassa", "git.not_repo", "node.build_missing", "node.modules_missing",
    "security.csrf_cookie_secure", "security.hsts", "security.session_cookie_secure", "security.ssl_redirect",
    "services.docker_unavailable",
}


installed = pytest.fixture(scope="module")(wheel_helpers.installed)


@pytest.fixture
def project(installed, tmp_path) -> Path:
    """A copy of the demo made by the installed wheel's own `demo` task, in a folder of its own."""
    done = installed.run("django-remediation", "demo", "--dest", str(tmp_path / "thebot"), cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"demo project copied to {tmp_path / 'thebot'}\n", "")
    return tmp_path / "thebot"


def files_below(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".remediation" not in p.parts}


def test_the_wheel_holds_the_templates_the_demo_and_the_probe(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert {n.removeprefix("remediation/templates/") for n in names if n.startswith("remediation/templates/")} \
        == files_below(REPO / "templates")
    assert {n.removeprefix("remediation/demo/thebot/") for n in names if n.startswith("remediation/demo/thebot/")} \
        == files_below(DEMO)
    probe = {p.name for p in (REPO / "remediation" / "probe").glob("*.py")}
    assert {n.removeprefix("remediation/probe/") for n in names if n.startswith("remediation/probe/")} == probe
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert zipfile.ZipFile(installed.wheel).read(entry_points).decode().split() == [
        "[console_scripts]", "django-remediation", "=", "remediation.program:program.run"]


def test_the_package_is_the_installed_one_not_the_checkout(installed, tmp_path):
    done = installed.run("python", "-c", "import remediation.resources as r; print(r.TEMPLATES); print(r.DEMO_PROJECT)",
                         cwd=tmp_path)
    site = installed.venv / "lib"
    templates, demo = done.stdout.split()
    assert Path(templates).is_relative_to(site) and Path(templates).name == "templates"
    assert Path(demo).is_relative_to(site) and Path(demo).parts[-2:] == ("demo", "thebot")


def test_audit_from_the_projects_own_folder(installed, project):
    done = installed.run("django-remediation", "audit", "--format", "json", cwd=project)
    assert done.returncode == 1, done.stderr
    host = json.loads(done.stdout)["hosts"][0]
    assert host["project"] == str(project)
    assert {f["id"] for f in host["findings"]} == DEMO_FINDINGS
    assert host["facts"]["python"] == str(installed.bin / "python")


@pytest.fixture(scope="module")
def tool_only(installed, tmp_path_factory) -> Path:
    """The wheel without the demo extra, in a venv of its own: as pipx installs a tool (no Django)."""
    import sys

    import demo_venv

    venv = tmp_path_factory.mktemp("pipx") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True,
                   timeout=300)
    demo_venv.pip(sys.executable, "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-compile",
                  "--no-index", "--find-links", str(demo_venv.wheel_cache()), str(installed.wheel), timeout=900)
    return venv


def test_a_tool_installed_apart_audits_with_the_projects_own_venv(installed, tool_only, project):
    """pipx: the toolkit's interpreter has no Django; the project's .venv has, and is the default."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON", "VIRTUAL_ENV", "REMEDIATION_"))}
    tool = str(tool_only / "bin" / "django-remediation")
    (project / ".venv").symlink_to(installed.venv)  # the project's own venv, with the demo's requirements
    done = subprocess.run([tool, "audit", "--format", "json"], cwd=project, env=environ, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    host = json.loads(done.stdout)["hosts"][0]
    assert host["facts"]["python"] == str(project / ".venv" / "bin" / "python")
    assert {f["id"] for f in host["findings"]} == DEMO_FINDINGS
    (project / ".venv").unlink()
    done = subprocess.run([tool, "audit", "--format", "json"], cwd=project, env=environ, capture_output=True,
                          text=True, timeout=300)
    assert (done.returncode, done.stdout) == (2, "")  # no project venv: one line naming the way out
    assert done.stderr == (f"error: {tool_only / 'bin' / 'python'}: Django is not importable (ModuleNotFoundError: No "
                           "module named 'django'); give the project's interpreter with --python (a .venv or venv "
                           "beside the project is found by itself)\n")


def test_project_defaults_to_manage_py_here_or_one_level_down_else_the_bundled_demo(installed, project, tmp_path):
    here = installed.run("django-remediation", "audit", "--format", "json", cwd=project / "backend")
    assert json.loads(here.stdout)["hosts"][0]["project"] == str(project / "backend")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bundled = installed.run("django-remediation", "audit", "--format", "json", cwd=elsewhere)
    assert bundled.returncode == 1, bundled.stderr
    demo = json.loads(bundled.stdout)["hosts"][0]["project"]
    assert Path(demo).is_relative_to(installed.venv) and Path(demo).parts[-3:] == ("remediation", "demo", "thebot")


def test_markdown_report_renders_from_the_packaged_templates(installed, project):
    done = installed.run("django-remediation", "audit", "--format", "markdown", cwd=project)
    assert done.returncode == 1, done.stderr
    assert "## DEPLOYMENT DECISION" in done.stdout and "`env.debug`" in done.stdout


def test_fix_prod_check_from_the_projects_folder_writes_nothing(installed, project):
    before = tree_digest(project)
    done = installed.run("django-remediation", "fix-prod", "--check", "--domain", "thebot.example.com", cwd=project)
    assert done.returncode == 1, done.stderr
    assert "recap: localhost  ok=1  changed=0  failed=0  needs_input=3  skipped=7" in done.stdout
    assert tree_digest(project) == before


def test_the_bundled_demo_is_never_changed_in_place(installed, tmp_path):
    done = installed.run("django-remediation", "fix-prod", "--domain", "thebot.example.com", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: the bundled demo is never changed in place")


@pytest.mark.parametrize("task", TASKS)
def test_every_task_and_flag_is_the_same_as_invoke_in_the_checkout(installed, project, task):
    ours = installed.run("django-remediation", "--help", task, cwd=project)
    checkout = subprocess.run(["python", "-m", "invoke", "--help", task], cwd=REPO, capture_output=True, text=True,
                              timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")})
    assert (ours.returncode, checkout.returncode) == (0, 0)
    usage = "Usage: {} [--core-opts] " + task + " [--options] [other tasks here ...]"
    assert ours.stdout.splitlines()[0] == usage.format("django-remediation")
    assert checkout.stdout.splitlines()[0] == usage.format("inv[oke]")
    assert ours.stdout.splitlines()[1:] == checkout.stdout.splitlines()[1:]


def test_list_names_every_task(installed, tmp_path):
    done = installed.run("django-remediation", "--list", cwd=tmp_path)
    assert done.returncode == 0
    listed = [line.split()[0] for line in done.stdout.splitlines()[2:] if line.startswith("  ") and line[2] != " "]
    assert listed == list(TASKS)


def test_a_projects_tasks_py_takes_our_tasks_in_one_import(installed, project):
    (project / "tasks.py").write_text("from remediation.tasks import ns  # noqa: F401\n")
    listed = installed.run("invoke", "--list", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[2:] if line.startswith("  ") and line[2] != " "] \
        == list(TASKS)
    done = installed.run("invoke", "audit", "--format", "json", cwd=project)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["hosts"][0]["project"] == str(project)


def test_a_projects_own_tasks_keep_ours_as_a_sub_collection(installed, project):
    (project / "tasks.py").write_text(
        "from invoke import Collection, task\n"
        "from remediation.tasks import ns as remediation\n\n\n"
        "@task\n"
        "def hello(c):\n"
        "    print('hello from the project')\n\n\n"
        "ns = Collection(hello, remediation)\n")
    hello = installed.run("invoke", "hello", cwd=project)
    assert (hello.returncode, hello.stdout) == (0, "hello from the project\n")
    done = installed.run("invoke", "remediation.audit", "--format", "json", "--fail-level", "critical", cwd=project)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["hosts"][0]["project"] == str(project)


def test_bad_input_from_the_console_script_is_one_line(installed, project):
    before = tree_digest(project)
    done = installed.run("django-remediation", "audit", "--format", "yaml", cwd=project)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: --format: unknown format 'yaml' (choose from text, markdown, json")
    assert done.stderr.count("\n") == 1
    assert tree_digest(project) == before
