"""examples/ci/: the GitHub Actions workflow's `run:` steps and the GitLab job's `script:` lines run
exactly as written, in a git repository holding a copy of the demo, with pip resolving
`django-remediation` to the wheel built from this checkout (offline: the wheel cache, no index);
the pre-commit hook of .pre-commit-hooks.yaml runs through pre-commit itself (try-repo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_demo, git

import wheel_helpers

CI = REPO / "examples" / "ci"
FORMAT_FLAGS = " --format text --format sarif:audit.sarif --format junit:audit.xml"


def github_commands() -> list[str]:
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    return [step["run"] for step in workflow["jobs"]["audit"]["steps"] if "run" in step]


def gitlab_commands() -> list[str]:
    return list(yaml.safe_load((CI / "gitlab-ci.yml").read_text())["production-readiness"]["script"])


EXAMPLES = {"github": github_commands, "gitlab": gitlab_commands}


installed = pytest.fixture(scope="module")(wheel_helpers.installed)


@pytest.fixture(scope="module")
def runner(installed, tmp_path_factory):
    """A CI runner's Python: a fresh venv with pip, where `pip install django-remediation` finds our
    wheel and its dependencies in local folders only (PIP_NO_INDEX, PIP_FIND_LINKS)."""
    venv = tmp_path_factory.mktemp("ci") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("DJANGO_", "PYTHON", "VIRTUAL_ENV", "REMEDIATION_", "PIP_"))}
    environ.update(PATH=f"{venv / 'bin'}{os.pathsep}{environ['PATH']}", VIRTUAL_ENV=str(venv), PIP_NO_INDEX="1",
                   PIP_FIND_LINKS=f"{installed.wheel.parent} {wheel_helpers.wheel_cache()}",
                   PIP_DISABLE_PIP_VERSION_CHECK="1")
    return environ


def repository(tmp_path: Path) -> Path:
    """The repository a CI job checks out: the demo, committed."""
    repo = copy_demo(tmp_path / "repo")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "the project")
    return repo


def commit(repo: Path, message: str) -> None:
    git(repo, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "add", "-A")
    git(repo, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-q", "-m", message)


def run(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """As a runner does: bash, stop at the first failing line (GitHub: bash -e {0}; GitLab: each line)."""
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def test_the_examples_hold_the_expected_steps():
    assert github_commands() == [
        "python -m pip install -r backend/requirements.txt\npython -m pip install django-remediation\n",
        "django-remediation audit" + FORMAT_FLAGS,
    ]
    assert gitlab_commands() == [
        "python -m pip install -r backend/requirements.txt",
        "python -m pip install django-remediation",
        "django-remediation audit" + FORMAT_FLAGS,
    ]
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    uploads = {s["uses"].split("@")[0]: s["with"] for s in workflow["jobs"]["audit"]["steps"] if "uses" in s}
    assert uploads["github/codeql-action/upload-sarif"]["sarif_file"] == "audit.sarif"
    job = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["production-readiness"]
    assert (job["artifacts"]["reports"]["junit"], job["artifacts"]["when"]) == ("audit.xml", "always")


@pytest.mark.parametrize("example", EXAMPLES)
def test_install_commands_run_as_written(runner, tmp_path, example):
    repo = repository(tmp_path)
    for command in EXAMPLES[example]()[:-1]:
        done = run(command, repo, runner)
        assert done.returncode == 0, done.stderr[-2000:]
    where = run("command -v django-remediation", repo, runner)
    assert where.stdout.strip() == f"{runner['VIRTUAL_ENV']}/bin/django-remediation"


@pytest.mark.parametrize("example", EXAMPLES)
def test_audit_command_runs_as_written_and_fails_the_job_when_blocked(runner, tmp_path, example):
    repo = repository(tmp_path)
    for command in EXAMPLES[example]()[:-1]:
        assert run(command, repo, runner).returncode == 0
    done = run(EXAMPLES[example]()[-1], repo, runner)
    assert done.returncode == 1, done.stderr[-2000:]  # the demo is blocked: the job fails
    assert "Production is BLOCKED at fail level high" in done.stdout
    sarif = json.loads((repo / "audit.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert "env.debug" in {r["ruleId"] for r in sarif["runs"][0]["results"]}
    import jsonschema

    jsonschema.validate(sarif, json.loads((REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text()))
    import xml.etree.ElementTree as ElementTree

    junit = ElementTree.parse(repo / "audit.xml").getroot()
    assert junit.tag in ("testsuites", "testsuite")
    assert int(junit.get("failures")) > 0

    # the project waives its blockers in its committed remediation.yaml: the same line passes the job
    import datetime

    blockers = sorted({r["ruleId"] for r in sarif["runs"][0]["results"] if r["level"] == "error"})
    soon = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
    (repo / "remediation.yaml").write_text(yaml.safe_dump({"waivers": [
        {"id": i, "reason": "accepted for the CI test", "expires": soon} for i in blockers]}))
    commit(repo, "waivers")  # committed, as a project's config is (else the tree is dirty: git.dirty)
    ready = run(EXAMPLES[example]()[-1], repo, runner)
    assert ready.returncode == 0, ready.stdout[-3000:]
    assert f"{len(blockers)} waived)" in " ".join(ready.stdout.split())
    waived = json.loads((repo / "audit.sarif").read_text())["runs"][0]["results"]
    assert {r["ruleId"] for r in waived if r.get("suppressions")} >= set(blockers)


def pre_commit(repo: Path, installed, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    environ = installed.env()
    environ["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "django-remediation", *args],
                          cwd=repo, env=environ, capture_output=True, text=True, timeout=600)


def test_pre_commit_hook_blocks_a_critically_unready_project(installed, tmp_path):
    repo = repository(tmp_path)
    done = pre_commit(repo, installed, tmp_path, "--all-files")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert "django-remediation audit (static part, critical findings)" in done.stdout
    assert "Production is BLOCKED at fail level critical" in done.stdout


def test_pre_commit_hook_passes_once_the_critical_findings_are_waived(installed, tmp_path):
    import datetime

    repo = repository(tmp_path)
    soon = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
    critical = ["database.sqlite", "env.debug", "env.secret_key", "git.live_secret_in_history", "security.hsts",
                "security.ssl_redirect"]
    (repo / "remediation.yaml").write_text(yaml.safe_dump({"waivers": [
        {"id": i, "reason": "pilot", "expires": soon} for i in critical]}))
    done = pre_commit(repo, installed, tmp_path, "--all-files")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "Passed" in done.stdout


def test_pre_commit_hook_skips_commits_that_cannot_change_the_verdict(installed, tmp_path):
    repo = repository(tmp_path)
    done = pre_commit(repo, installed, tmp_path, "--files", "README.md", "frontend/src/main.tsx")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(no files to check)Skipped" in done.stdout
