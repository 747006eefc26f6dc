"""Bad input gives one clear line or a finding, never a crash, and nothing is written anywhere."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import git, invoke, make_git_repo, tree_digest


def audit(project, *args):
    run = invoke("audit", "--project", str(project), "--format", "json", *args)
    document = json.loads(run.stdout) if run.returncode in (0, 1) else None
    return run, document


def ids(document):
    return {f["id"]: f for f in document["hosts"][0]["findings"]}


def assert_one_line_error(run, text):
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], run.stderr
    assert "Traceback" not in run.stderr


def test_path_that_does_not_exist(tmp_path):
    assert_one_line_error(invoke("audit", "--project", str(tmp_path / "nope")), "nope: no such directory")


def test_folder_without_manage_py(tmp_path):
    (tmp_path / "src").mkdir()
    before = tree_digest(tmp_path)
    assert_one_line_error(invoke("audit", "--project", str(tmp_path)), "no manage.py here or one level down")
    assert tree_digest(tmp_path) == before


def test_manage_py_one_level_down_is_found(demo):
    run, document = audit(demo)
    assert document["hosts"][0]["facts"]["manage_dir"] == str(demo / "backend")


def test_settings_that_raise_on_import(demo):
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text(settings.read_text() + "\nraise RuntimeError('REDIS_URL is required')\n")
    line = len(settings.read_text().splitlines())
    before = tree_digest(demo)
    run, document = audit(demo)
    assert run.returncode == 1
    finding = ids(document)["django.settings_error"]
    assert finding["severity"] == "critical"
    assert finding["detail"] == f"RuntimeError: REDIS_URL is required (settings, at config/settings.py:{line})"
    assert "Traceback" not in run.output
    assert document["hosts"][0]["verdict"]["development"] == "not ready"
    assert tree_digest(demo) == before


def test_interpreter_without_django(demo, tmp_path):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    run = invoke("audit", "--project", str(demo), "--python", str(venv / "bin" / "python"))
    assert_one_line_error(run, "Django is not importable (ModuleNotFoundError: No module named 'django')")


def test_interpreter_that_does_not_exist(demo, tmp_path):
    run = invoke("audit", "--project", str(demo), "--python", str(tmp_path / "python9"))
    assert_one_line_error(run, "python9: no such program")


def test_env_file_that_does_not_exist(demo, tmp_path):
    assert_one_line_error(invoke("audit", "--project", str(demo), "--env-file", str(tmp_path / "x.env")), "env file not found")


def test_malformed_env_line_is_reported_with_file_and_line(demo):
    env = demo / ".env"
    lines = env.read_text().splitlines()
    lines.insert(2, 'BROKEN="never closed')
    env.write_text("\n".join(lines) + "\n")
    before = tree_digest(demo)
    run, document = audit(demo)
    assert run.returncode == 1
    assert ids(document)["env.malformed"]["detail"] == f"{env}:3: cannot parse this line"
    assert tree_digest(demo) == before


def test_no_git_repository(demo):
    run, document = audit(demo)
    assert "git.not_repo" in ids(document)
    assert not (demo / ".git").exists()


def test_no_upstream(demo, tmp_path):
    make_git_repo(demo)
    git(demo, "remote", "add", "origin", str(tmp_path / "elsewhere.git"))
    run, document = audit(demo)
    finding = ids(document)["git.no_upstream"]
    assert finding["detail"] == "branch main tracks nothing on origin; its commits are on this machine only"
    assert "git.unpushed" not in ids(document)


def test_dirty_tree(git_demo):
    (git_demo / "backend" / "notes.txt").write_text("wip\n")
    run, document = audit(git_demo)
    assert ids(document)["git.dirty"]["detail"] == "1 file(s) changed or untracked under thebot/"


def test_broken_migration_is_named(demo):
    broken = demo / "backend" / "invoices" / "migrations" / "0006_broken.py"
    broken.write_text("from django.db import migrations\nimport no_such_module\n")
    before = tree_digest(demo)
    run, document = audit(demo)
    finding = ids(document)["database.migrations_broken"]
    assert finding["detail"] == (
        "ModuleNotFoundError: No module named 'no_such_module' at invoices/migrations/0006_broken.py:2"
    )
    assert tree_digest(demo) == before


def test_missing_sqlite_file_is_not_created(demo):
    (demo / "backend" / "db.sqlite3").unlink()
    run, document = audit(demo)
    assert "does not exist" in ids(document)["database.unreachable"]["detail"]
    assert not (demo / "backend" / "db.sqlite3").exists()


def test_noisy_settings_do_not_pollute_the_json(demo):
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text(
        "import sys, warnings, logging, os\n"
        "print('{not json')\nprint('BANNER to stderr', file=sys.stderr)\n"
        "os.write(1, b'raw fd write\\n')\nwarnings.warn('deprecated thing')\n"
        "logging.getLogger('x').error('log line')\n" + settings.read_text()
    )
    run, document = audit(demo)
    assert run.returncode == 1
    assert document["hosts"][0]["facts"]["probe"]["project_output_bytes"] > 0
    assert "env.debug" in ids(document)
    assert "BANNER" not in run.stderr and "raw fd write" not in run.output


@pytest.mark.parametrize("model_change", ["    note = models.TextField(blank=True, default='')\n"])
def test_model_changes_without_migrations(demo, model_change):
    models = demo / "backend" / "invoices" / "models.py"
    text = models.read_text()
    anchor = "class Invoice(models.Model):\n"
    assert anchor in text
    models.write_text(text.replace(anchor, anchor + model_change, 1))
    run, document = audit(demo)
    assert "invoices: Add field note to invoice" in ids(document)["database.model_changes"]["detail"]


def test_an_app_that_does_not_exist(demo):
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text(settings.read_text() + "\nINSTALLED_APPS = INSTALLED_APPS + ['no_such_app']\n")
    run, document = audit(demo)
    assert run.returncode == 1
    finding = ids(document)["django.settings_error"]
    assert finding["detail"].startswith("ModuleNotFoundError: No module named 'no_such_app' (setup, at ")
    assert "Traceback" not in run.output


def test_settings_that_exit(demo):
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text("import sys\nsys.exit('settings refuse to load')\n" + settings.read_text())
    run, document = audit(demo)
    assert run.returncode == 1
    assert ids(document)["django.settings_error"]["detail"].startswith("SystemExit: settings refuse to load (settings, at ")


def test_requirements_not_installed_are_named(demo):
    requirements = demo / "backend" / "requirements.txt"
    requirements.write_text(requirements.read_text() + "no-such-package-remediation>=1.0\nDjango<2\n")
    run, document = audit(demo)
    found = ids(document)
    assert found["python.missing"]["detail"].endswith(": no-such-package-remediation")
    assert "Django" in found["python.version_mismatch"]["detail"] and "wants <2" in found["python.version_mismatch"]["detail"]
