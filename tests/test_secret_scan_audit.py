"""The committed-secret scan inside a real audit of a temp copy of the demo: its findings and its
row in every format, nothing planted ever printed, a second audit reading nothing, and the same
result over a real sshd host."""

from __future__ import annotations

import json
import re
import sys

import pytest
import yaml
from conftest import copy_demo, invoke, tree_digest
from secretscan_helpers import alnum, commit, git, init, leaks
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401  (fixtures)


class Demo:
    """The demo in git: its .env ignored and holding a strong SECRET_KEY that an old commit leaked."""

    def __init__(self, root):
        self.root = copy_demo(root)
        self.key = alnum(50)
        self.token = "ghp_" + alnum(36)
        self.message_password = "Mp" + alnum(14)
        env = (self.root / ".env").read_text()
        env = re.sub(r"^SECRET_KEY=.*$", f"SECRET_KEY={self.key}", env, flags=re.M)
        (self.root / ".env").write_text(env)
        with (self.root / ".gitignore").open("a") as handle:
            handle.write(".env\nbackend/config/local_settings.py\n")
        init(self.root)
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", "initial")
        self.leak = commit(self.root, "local settings for the server", {
            "backend/config/keys.py": f"SECRET_KEY = '{self.key}'\n"})
        self.message = commit(self.root, f"connect the bot\n\npassword: {self.message_password}\n", {
            "backend/config/keys.py": None})
        self.head = commit(self.root, "bot token and a secrets folder", {
            "backend/bot/token.py": f'BOT_TOKEN = "{self.token}"\n',
            "secrets/README.md": "server secrets go here\n"})
        self.planted = [self.key, self.token, self.message_password]


@pytest.fixture
def planted_demo(tmp_path) -> Demo:
    return Demo(tmp_path / "planted" / "thebot")


def audit(project, tmp_path, *args, env=None):
    return invoke("audit", "--project", str(project), *args,
                  env={"XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})})


def secret_findings(document) -> list[tuple[str, str, str]]:
    return sorted((f["id"], f["severity"], f["detail"]) for f in document["hosts"][0]["findings"]
                  if f["id"].startswith("git.secret") or f["id"].startswith("git.live"))


def git_row(document, component="Committed Secrets") -> dict:
    return next(r for r in document["hosts"][0]["rows"]["git"] if r["component"] == component)


def test_the_audit_reports_planted_secrets_and_prints_none(planted_demo, tmp_path):
    demo = planted_demo
    before = tree_digest(demo.root)
    run = audit(demo.root, tmp_path, "--format", "json")
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    leak, message = demo.leak[:12], demo.message[:12]
    assert secret_findings(document) == [
        ("git.live_secret_in_history", "critical",
         f"the live SECRET_KEY is committed in backend/config/keys.py (commit {leak}); anyone with the repository "
         f"has it: rotate it (a new value, then remove the old one from history) — for SECRET_KEY, "
         f"fix-prod --rotate-secret-key"),
        ("git.secret_file_tracked", "high", "secrets/README.md: file in a secrets/ folder; untrack it (git rm --cached), "
                                            "ignore it in .gitignore and rotate what it held"),
        ("git.secret_in_commit_message", "medium", f"Secret Keyword (commit {message}); rotate it (a message cannot be "
                                                   f"changed without rewriting history)"),
        ("git.secret_in_history", "medium", f"backend/config/keys.py: Secret Keyword (line 1, commit {leak}); gone "
                                            f"from HEAD, but the history still holds it: rotate it"),
        ("git.secret_in_tree", "high", "backend/bot/token.py: GitHub Token (line 1); backend/scripts/make_demo_db.py: "
                                       "Secret Keyword (line 22); move them to the environment and rotate them"),
    ]
    row = git_row(document)
    assert (row["status"], row["detail"]) == ("error", "4 commits and 71 files scanned: 1 live secret, 1 secret file, "
                                                       "2 values in the tree, 1 value in history, 1 commit message")
    assert document["hosts"][0]["verdict"]["development"] == "ready", "a committed secret matters from staging on"
    scan = document["hosts"][0]["facts"]["secret_scan"]
    assert scan["stats"] == {"commits_read": 4, "blobs_read": 71, "cache_hits": 0}
    outputs = [run.output]
    for fmt in ("text", "markdown"):
        other = audit(demo.root, tmp_path, "--format", fmt)
        assert other.returncode == 1
        assert "Committed Secrets" in other.stdout and "git.live_secret_in_history" in other.stdout
        outputs.append(other.output)
    assert leaks("\n".join(outputs), demo.planted) == []
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert leaks(path.read_text(errors="replace"), demo.planted) == []
    assert tree_digest(demo.root) == before, "the audit wrote nothing into the project"

    second = json.loads(audit(demo.root, tmp_path, "--format", "json").stdout)
    assert second["hosts"][0]["facts"]["secret_scan"]["stats"] == {"commits_read": 0, "blobs_read": 0, "cache_hits": 75}
    assert secret_findings(second) == secret_findings(document)


def test_the_row_is_unknown_when_the_scan_did_not_run(planted_demo, tmp_path, demo):
    off = audit(planted_demo.root, tmp_path, "--format", "json", env={"REMEDIATION_SECRET_SCAN": "0"})
    document = json.loads(off.stdout)
    assert secret_findings(document) == []
    assert (git_row(document)["status"], git_row(document)["detail"]) == ("unknown", "not scanned")
    outside = json.loads(audit(demo, tmp_path, "--format", "json").stdout)
    assert (git_row(outside)["status"], git_row(outside)["detail"]) == ("unknown", "not scanned: not a repository")
    assert secret_findings(outside) == []


def test_a_clean_repository_is_ok(tmp_path):
    project = copy_demo(tmp_path / "thebot")
    with (project / ".gitignore").open("a") as handle:
        handle.write(".env\n")
    (project / "backend" / "scripts" / "make_demo_db.py").unlink()
    init(project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    document = json.loads(audit(project, tmp_path, "--format", "json").stdout)
    assert secret_findings(document) == []
    assert (git_row(document)["status"], git_row(document)["detail"]) == ("ok", "1 commit and 68 files scanned: nothing found")


def test_over_ssh_the_scan_finds_what_it_finds_locally(planted_demo, ssh_host, tmp_path):
    demo = planted_demo
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"hosts": {ssh_host.name: {
        "address": ssh_host.address, "port": ssh_host.port, "user": ssh_host.user, "key": str(ssh_host.client_key),
        "project": str(demo.root), "python": sys.executable}}}))
    known = tmp_path / "known_hosts"
    known.write_text(ssh_host.known_hosts_line + "\n")
    remote = invoke("audit", "-i", str(inventory), "--known-hosts", str(known), "--format", "json",
                    env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    local = audit(demo.root, tmp_path, "--format", "json")
    remote_doc, local_doc = json.loads(remote.stdout), json.loads(local.stdout)
    remote_scan = remote_doc["hosts"][0]["facts"]["secret_scan"]
    local_scan = local_doc["hosts"][0]["facts"]["secret_scan"]
    assert remote_scan["state"] == "scanned" and remote_scan["hits"] == local_scan["hits"]
    assert remote_scan["stats"]["commits_read"] == 4, "the host's cache is its own"
    assert secret_findings(remote_doc) == secret_findings(local_doc)
    assert leaks(remote.output + local.output, demo.planted) == []
    again = json.loads(invoke("audit", "-i", str(inventory), "--known-hosts", str(known), "--format", "json",
                              env={"XDG_CACHE_HOME": str(tmp_path / "cache")}).stdout)
    assert again["hosts"][0]["facts"]["secret_scan"]["stats"] == {"commits_read": 0, "blobs_read": 0, "cache_hits": 75}
