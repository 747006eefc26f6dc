"""The commit a deploy ships (remediation/deploy/archive.py): real git repositories with a bare
remote (tests/conftest.py), the bundled demo, and a tiny front end built with the real npm."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from conftest import copy_demo, git, make_git_repo
from remediation.deploy import archive
from remediation.runner import UsageError

BUILD_JS = """const fs = require("fs");
fs.mkdirSync("dist/assets", { recursive: true });
fs.writeFileSync("dist/index.html", "<!doctype html><p>built by the fixture</p>\\n");
fs.writeFileSync("dist/assets/app.js", "console.log('app');\\n");
"""
PACKAGE = {"name": "fixture-frontend", "version": "1.0.0", "private": True, "scripts": {"build": "node build.js"}}
LOCK = {"name": "fixture-frontend", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {"": {"name": "fixture-frontend", "version": "1.0.0"}}}


def push(project: Path) -> str:
    git(project, "push", "-q", "origin", "main")
    return git(project, "rev-parse", "HEAD")


def commit_all(project: Path, message: str) -> str:
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)
    return push(project)


def tar_files(path: str) -> dict[str, bytes]:
    """Every file and symlink in the tar (folders aside) -> its content (a link: its target)."""
    with tarfile.open(path) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else m.linkname.encode())
                for m in tar if not m.isdir() and m.type != tarfile.XGLTYPE}


def ls_tree(project: Path, treeish: str) -> set[str]:
    return set(git(project, "ls-tree", "-r", "--name-only", "-z", treeish).split("\0")) - {""}


def needs_npm():
    if shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("npm is not installed, and CI must not skip")
        pytest.skip("npm is not installed")


@pytest.fixture
def with_frontend(git_demo) -> Path:
    """The demo whose frontend/ is the fixture front end (no dependencies: no network), pushed."""
    frontend = git_demo / "frontend"
    shutil.rmtree(frontend)
    frontend.mkdir()
    (frontend / "package.json").write_text(json.dumps(PACKAGE, indent=2) + "\n")
    (frontend / "package-lock.json").write_text(json.dumps(LOCK, indent=2) + "\n")
    (frontend / "build.js").write_text(BUILD_JS)
    commit_all(git_demo, "front end with a lockfile")
    return git_demo


# --- resolve ----------------------------------------------------------------------------------


def test_unpushed_head_is_refused_naming_the_branch(git_demo):
    head = git(git_demo, "rev-parse", "HEAD")
    with pytest.raises(UsageError) as caught:
        archive.resolve(str(git_demo))
    assert str(caught.value) == f"main ({head[:7]}) is not pushed: push it first (git push) or name a pushed ref"


def test_a_pushed_ref_resolves_with_what_the_display_shows(git_demo):
    pushed = git(git_demo, "rev-parse", "origin/main")
    commit = archive.resolve(str(git_demo), "HEAD~3")
    assert (commit.sha, commit.short, commit.ref, commit.branch) == (pushed, pushed[:7], "HEAD~3", None)
    assert (commit.subject, commit.author, commit.pushed_to, commit.dirty) == ("initial", "Test", "origin/main", False)


def test_head_after_push_names_its_branch_and_upstream(git_demo):
    head = push(git_demo)
    commit = archive.resolve(str(git_demo))
    assert (commit.sha, commit.ref, commit.branch, commit.pushed_to) == (head, "HEAD", "main", "origin/main")
    assert commit.subject == "change 2"


@pytest.mark.parametrize("ref", ["no-such-branch", "HEAD~9", "0123456789abcdef0123456789abcdef01234567"])
def test_a_ref_that_does_not_exist_is_refused(git_demo, ref):
    with pytest.raises(UsageError) as caught:
        archive.resolve(str(git_demo), ref)
    assert str(caught.value) == f"{ref}: no such branch, tag or commit in {git_demo}"


def test_a_ref_that_looks_like_an_option_is_not_passed_to_git(git_demo):
    with pytest.raises(UsageError) as caught:
        archive.resolve(str(git_demo), "--output=/tmp/x")
    assert str(caught.value) == "--output=/tmp/x: not a ref"


def test_a_folder_that_is_not_a_checkout_is_refused(demo, tmp_path):
    with pytest.raises(UsageError) as caught:
        archive.resolve(str(demo))
    assert str(caught.value) == f"{demo}: not a git checkout (a deploy ships a pushed commit)"
    with pytest.raises(UsageError) as caught:
        archive.resolve(str(tmp_path / "missing"))
    assert str(caught.value) == f"{tmp_path / 'missing'}: no such directory"


def test_a_tag_that_is_pushed_resolves_to_its_commit(git_demo):
    push(git_demo)
    git(git_demo, "tag", "-a", "v1", "-m", "one", "HEAD~1")
    commit = archive.resolve(str(git_demo), "v1")
    assert commit.sha == git(git_demo, "rev-parse", "HEAD~1")
    assert commit.subject == "change 1"


# --- build ------------------------------------------------------------------------------------


def test_a_dirty_tree_ships_the_commit_exactly_as_ls_tree_lists_it(git_demo, tmp_path):
    push(git_demo)
    settings = git_demo / "backend" / "config" / "settings.py"
    committed = settings.read_bytes()
    settings.write_text("raise SystemExit('the working copy, never deployed')\n")
    (git_demo / "backend" / "untracked.py").write_text("x = 1\n")
    commit = archive.resolve(str(git_demo))
    assert commit.dirty is True
    bundle = archive.build(str(git_demo), commit, str(tmp_path / "out"), frontend="skip")
    files = tar_files(bundle.path)
    assert set(files) == ls_tree(git_demo, commit.sha)
    assert files["backend/config/settings.py"] == committed
    assert files["CHANGELOG"] == b"change 2\n"
    assert (bundle.path, bundle.sha) == (str(tmp_path / "out" / f"{commit.sha}.tar"), commit.sha)
    assert os.listdir(tmp_path / "out") == [f"{commit.sha}.tar"]  # the export was temporary
    assert bundle.size == os.path.getsize(bundle.path)


def test_the_demo_bundle_names_its_django_folder_and_requirements(git_demo, tmp_path):
    commit = archive.resolve(str(git_demo), "origin/main")
    bundle = archive.build(str(git_demo), commit, str(tmp_path / "out"), frontend="skip")
    assert (bundle.manage_rel, bundle.requirements_path_rel) == ("backend", "backend/requirements.txt")
    assert bundle.requirements_text == (git_demo / "backend" / "requirements.txt").read_text()
    assert (bundle.frontend, bundle.frontend_files) == ("skipped: no lockfile", ())


def test_a_front_end_without_lockfile_is_refused_unless_skipped(git_demo, tmp_path):
    commit = archive.resolve(str(git_demo), "origin/main")
    with pytest.raises(UsageError) as caught:
        archive.build(str(git_demo), commit, str(tmp_path / "out"))
    assert str(caught.value) == ("frontend/package.json has no package-lock.json: commit one (npm install) so "
                                 "the build is reproducible, or skip the front end (--frontend skip)")
    assert not (tmp_path / "out" / f"{commit.sha}.tar").exists()


def test_requirement_includes_are_inlined(git_demo, tmp_path):
    backend = git_demo / "backend"
    (backend / "requirements").mkdir()
    (backend / "requirements" / "base.txt").write_text("Django>=5.2,<6\n-r common.txt\n")
    (backend / "requirements" / "common.txt").write_text("six\n")
    (backend / "requirements.txt").write_text("-r requirements/base.txt\ngunicorn>=22\n")
    commit_all(git_demo, "split requirements")
    commit = archive.resolve(str(git_demo))
    bundle = archive.build(str(git_demo), commit, str(tmp_path / "out"), frontend="skip")
    assert bundle.requirements_text == "Django>=5.2,<6\nsix\ngunicorn>=22\n"


def test_a_project_in_a_subfolder_ships_that_folder(tmp_path):
    mono = tmp_path / "mono"
    copy_demo(mono / "apps" / "thebot")
    (mono / "README").write_text("the monorepo\n")
    make_git_repo(mono, remote=tmp_path / "origin.git")
    project = mono / "apps" / "thebot"
    commit = archive.resolve(str(project))
    assert (commit.prefix, commit.root) == ("apps/thebot", str(mono))
    bundle = archive.build(str(project), commit, str(tmp_path / "out"), frontend="skip")
    assert set(tar_files(bundle.path)) == ls_tree(mono, f"{commit.sha}:apps/thebot")
    assert bundle.manage_rel == "backend"


def test_the_front_end_is_built_once_outside_the_working_copy(with_frontend, tmp_path):
    needs_npm()
    commit = archive.resolve(str(with_frontend))
    bundle = archive.build(str(with_frontend), commit, str(tmp_path / "out"))
    built = {"frontend/dist/index.html", "frontend/dist/assets/app.js"}
    assert bundle.frontend == "built"
    assert set(bundle.frontend_files) == built
    files = tar_files(bundle.path)
    assert set(files) == ls_tree(with_frontend, commit.sha) | built
    assert files["frontend/dist/index.html"] == b"<!doctype html><p>built by the fixture</p>\n"
    with tarfile.open(bundle.path) as tar:
        index = tar.getmember("frontend/dist/index.html")
        assert (index.uid, index.uname, index.mode) == (0, "root", 0o644)
        assert tar.getmember("frontend/dist/assets").isdir()
    assert not (with_frontend / "frontend" / "dist").exists()
    assert not (with_frontend / "frontend" / "node_modules").exists()
    assert os.listdir(tmp_path / "out") == [f"{commit.sha}.tar"]


def test_a_committed_build_output_is_replaced_not_duplicated(with_frontend, tmp_path):
    needs_npm()
    (with_frontend / "frontend" / "dist").mkdir()
    (with_frontend / "frontend" / "dist" / "index.html").write_text("stale\n")
    (with_frontend / "frontend" / "dist" / "old.js").write_text("stale\n")
    wipe = 'require("fs").rmSync("dist", {recursive: true});\n'
    (with_frontend / "frontend" / "build.js").write_text(wipe + BUILD_JS)
    git(with_frontend, "add", "-f", "frontend/dist")  # the demo's .gitignore has frontend/dist/
    commit_all(with_frontend, "dist committed")
    commit = archive.resolve(str(with_frontend))
    bundle = archive.build(str(with_frontend), commit, str(tmp_path / "out"))
    with tarfile.open(bundle.path) as tar:
        names = [m.name for m in tar]
    assert names.count("frontend/dist/index.html") == 1
    assert "frontend/dist/old.js" not in names
    assert tar_files(bundle.path)["frontend/dist/index.html"].startswith(b"<!doctype html>")


def test_skip_ships_the_tree_as_committed(with_frontend, tmp_path):
    commit = archive.resolve(str(with_frontend))
    bundle = archive.build(str(with_frontend), commit, str(tmp_path / "out"), frontend="skip")
    assert bundle.frontend == "skipped: asked"
    assert set(tar_files(bundle.path)) == ls_tree(with_frontend, commit.sha)


def test_a_failing_build_says_npm_last_lines_in_one_line(with_frontend, tmp_path):
    needs_npm()
    (with_frontend / "frontend" / "build.js").write_text(
        'console.log("building");\nconsole.error("boom: cannot find module ./missing");\nprocess.exit(1);\n')
    commit_all(with_frontend, "broken build")
    commit = archive.resolve(str(with_frontend))
    with pytest.raises(UsageError) as caught:
        archive.build(str(with_frontend), commit, str(tmp_path / "out"))
    assert str(caught.value) == ("frontend/package.json: npm run build failed: > node build.js | building | "
                                 "boom: cannot find module ./missing")
    assert os.listdir(tmp_path / "out") == []


def test_a_thrown_error_is_named_before_the_last_lines(with_frontend, tmp_path):
    needs_npm()
    (with_frontend / "frontend" / "build.js").write_text('throw new Error("boom: cannot find module ./missing");\n')
    commit_all(with_frontend, "broken build")
    commit = archive.resolve(str(with_frontend))
    with pytest.raises(UsageError) as caught:
        archive.build(str(with_frontend), commit, str(tmp_path / "out"))
    message = str(caught.value)
    assert message.startswith("frontend/package.json: npm run build failed: Error: boom: cannot find module ./missing")
    assert "\n" not in message and message.endswith("Node.js " + os.popen("node --version").read().strip())


def test_npm_missing_is_one_line(with_frontend, tmp_path, monkeypatch):
    only_git = tmp_path / "bin"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(only_git))
    commit = archive.resolve(str(with_frontend))
    with pytest.raises(UsageError) as caught:
        archive.build(str(with_frontend), commit, str(tmp_path / "out"))
    assert str(caught.value) == ("frontend/package.json: npm is not installed on this machine "
                                 "(the front end is built here, once)")
