"""The committed-secret scan on real git repositories: what it finds where, what its cache holds,
what a second run reads, and every bad input as one state or finding, never a traceback."""

from __future__ import annotations

import json
import os
import stat

import pytest
from factories import make_facts
from secretscan_helpers import CountingLocal, PlantedRepo, commit, git, init, leaks

from remediation.checks import git_secrets
from remediation.secretscan import live_secrets, scan
from remediation.transport import Local


@pytest.fixture
def planted(tmp_path) -> PlantedRepo:
    return PlantedRepo(tmp_path / "repo")


def places(result: dict) -> set[tuple]:
    return {(h["kind"], h["path"], h["line"], h["commit"], h.get("setting") or h["rule"]) for h in result["hits"]}


def findings_of(result: dict, tmp_path) -> list:
    facts = make_facts(tmp=tmp_path)
    facts.secret_scan = result
    return [f for check in git_secrets.CHECKS for f in check(facts)]


def test_every_planted_secret_is_found_where_it_is_and_named_without_its_value(planted, tmp_path):
    live = {planted.django_key: "the live SECRET_KEY", planted.message_password: "the password in DATABASE_URL"}
    result = scan(Local(), str(planted.root), live, cache_folder=tmp_path / "cache")
    old, message, head = planted.old[:12], planted.message[:12], planted.head[:12]
    assert (result["state"], result["error"], result["partial"], result["commits"], result["files"]) == (
        "scanned", None, [], 5, 11)
    assert places(result) == {
        ("live", "secret_key.txt", None, old, "the live SECRET_KEY"),
        ("live", None, None, message, "the password in DATABASE_URL"),
        ("file", ".env.production", None, head, "env file"),
        ("file", ".pypirc", None, head, ".pypirc with a token"),
        ("file", "deploy/id_ed25519", None, head, "private key file"),
        ("file", "secrets/prod.json", None, head, "file in a secrets/ folder"),
        ("tree", ".env.production", 1, head, "Stripe Access Key"),
        ("tree", ".pypirc", 3, head, "Secret Keyword"),
        ("tree", "app/github.py", 3, head, "GitHub Token"),
        ("tree", "deploy/id_ed25519", 1, head, "Private Key"),
        ("tree", "docs/latin1.txt", 1, head, "Stripe Access Key"),  # not UTF-8: read all the same
        ("history", "secret_key.txt", None, old, "Django secret key file"),
        ("history", "app/aws.py", 3, old, "AWS Access Key"),
        ("history", "app/db.py", 1, message, "Secret Keyword"),
        ("message", None, None, message, "Secret Keyword"),
    }  # not assets/blob.bin (binary), not .env.example's change-me placeholders
    assert leaks(json.dumps(result), planted.planted) == []

    found = {f.id: f for f in findings_of(result, tmp_path)}
    assert len(found) == len(findings_of(result, tmp_path)), "one finding per id"
    assert {i: (str(f.severity), f.fix, f.applies_from) for i, f in found.items()} == {
        "git.live_secret_in_history": ("critical", "manual", "staging"),
        "git.secret_file_tracked": ("high", "manual", "staging"),
        "git.secret_in_tree": ("high", "manual", "staging"),
        "git.secret_in_history": ("medium", "manual", "staging"),
        "git.secret_in_commit_message": ("medium", "manual", "staging")}
    assert found["git.live_secret_in_history"].detail == (
        f"the live SECRET_KEY is committed in secret_key.txt (commit {old}); the password in DATABASE_URL is "
        f"committed in a commit message (commit {message}); anyone with the repository has them: rotate them (a new "
        f"value, then remove the old one from history) — for SECRET_KEY, fix-prod --rotate-secret-key")
    assert "rotate" in found["git.live_secret_in_history"].title
    assert found["git.secret_in_history"].detail == (
        f"app/aws.py: AWS Access Key (line 3, commit {old}); app/db.py: Secret Keyword (line 1, commit {message}); "
        f"secret_key.txt: Django secret key file (commit {old}); gone from HEAD, but the history still holds them: "
        f"rotate them")
    assert found["git.secret_file_tracked"].detail == (
        ".env.production: env file; .pypirc: .pypirc with a token; deploy/id_ed25519: private key file; "
        "secrets/prod.json: file in a secrets/ folder; untrack them (git rm --cached), ignore them in .gitignore and "
        "rotate what they held")
    assert found["git.secret_in_tree"].detail == (
        ".env.production: Stripe Access Key (line 1); .pypirc: Secret Keyword (line 3); app/github.py: GitHub Token "
        "(line 3); deploy/id_ed25519: Private Key (line 1); docs/latin1.txt: Stripe Access Key (line 1); move them "
        "to the environment and rotate them")
    assert found["git.secret_in_commit_message"].detail == (
        f"Secret Keyword (commit {message}); rotate it (a message cannot be changed without rewriting history)")
    found = list(found.values())
    assert leaks(json.dumps([f.to_dict() for f in found]), planted.planted) == []


def test_a_second_run_reads_no_commit_and_no_file(planted, tmp_path):
    first, second = CountingLocal(), CountingLocal()
    one = scan(first, str(planted.root), {planted.django_key: "the live SECRET_KEY"}, cache_folder=tmp_path / "cache")
    two = scan(second, str(planted.root), {planted.django_key: "the live SECRET_KEY"}, cache_folder=tmp_path / "cache")
    assert first.calls == ["rev-parse", "rev-list", "log", "ls-tree", "diff-tree"]
    assert second.calls == ["rev-parse", "rev-list", "ls-tree"], "nothing read but the lists of commits and files"
    assert one["stats"] == {"commits_read": 5, "blobs_read": 11, "cache_hits": 0}
    assert two["stats"] == {"commits_read": 0, "blobs_read": 0, "cache_hits": 16}
    assert places(two) == places(one)

    # A new commit: that commit and the one file it changed are read, nothing else.
    token = "ghp_" + "k3Zq9" * 7 + "x"
    commit(planted.root, "more", {"app/more.py": f'T = "{token}"\n'})
    third = CountingLocal()
    three = scan(third, str(planted.root), {}, cache_folder=tmp_path / "cache")
    assert three["stats"] == {"commits_read": 1, "blobs_read": 1, "cache_hits": 16}
    assert ("tree", "app/more.py", 1, git(planted.root, "rev-parse", "--short=12", "HEAD"), "GitHub Token") in places(three)
    assert third.calls == ["rev-parse", "rev-list", "log", "ls-tree", "diff-tree"]


def test_the_cache_is_private_and_holds_no_value(planted, tmp_path):
    folder = tmp_path / "cache"
    scan(Local(), str(planted.root), {planted.django_key: "the live SECRET_KEY"}, cache_folder=folder)
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 2 and "key" in files
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert leaks(path.read_text(), planted.planted) == []
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not list(folder.glob(".*")), "no temp file left"


def test_the_live_secret_is_found_under_another_name_and_in_a_url(tmp_path):
    repo = init(tmp_path / "repo")
    key, password = "Kx" + "9fQ2" * 12, "pw-" + "Zr7" * 5
    old = commit(repo, "local settings", {"conf/local.py": f"SECRET = '{key}'\n",
                                          "conf/db.yml": f"url: postgres://app:{password}@db:5432/app\n"})
    commit(repo, "drop them", {"conf/local.py": None, "conf/db.yml": None})
    environ = {"DJANGO_SECRET_KEY": key, "DATABASE_URL": f"postgres://app:{password}@db.internal/app",
               "DEBUG": "False", "PORT": "8000"}
    live = live_secrets(environ)
    assert live == {key: "the live SECRET_KEY", password: "the database password in DATABASE_URL"}
    result = scan(Local(), str(repo), live, cache_folder=tmp_path / "cache")
    assert {(h["path"], h["commit"], h["setting"]) for h in result["hits"] if h["kind"] == "live"} == {
        ("conf/local.py", old[:12], "the live SECRET_KEY"), ("conf/db.yml", old[:12], "the database password in DATABASE_URL")}
    assert leaks(json.dumps(result), [key, password]) == []


def test_the_history_bound_makes_the_scan_partial(tmp_path):
    repo = init(tmp_path / "repo")
    for number in range(5):
        commit(repo, f"change {number}", {"CHANGELOG": f"{number}\n"})
    result = scan(Local(), str(repo), {}, limit=3, cache_folder=tmp_path / "cache")
    assert (result["state"], result["commits"], result["partial"]) == (
        "scanned", 3, ["the history has more than 3 commits; the 3 newest were scanned"])
    found = findings_of(result, tmp_path)
    assert [(f.id, str(f.severity), f.detail) for f in found] == [
        ("git.secret_scan_partial", "low", "the history has more than 3 commits; the 3 newest were scanned "
                                           "(set REMEDIATION_SECRET_SCAN_COMMITS to scan more than 3 commits)")]


def test_a_huge_file_is_not_read_and_says_so(tmp_path):
    repo = init(tmp_path / "repo")
    commit(repo, "big", {"data/big.txt": ("x" * 99 + "\n") * 12_000})
    result = scan(Local(), str(repo), {}, cache_folder=tmp_path / "cache")
    assert result["partial"] == ["1 file(s) over 1 MiB were not read"]
    assert result["stats"]["blobs_read"] == 0
    assert [(f.id, f.detail) for f in findings_of(result, tmp_path)] == [
        ("git.secret_scan_partial", "1 file(s) over 1 MiB were not read")]


def test_bad_repositories_are_one_state_each(tmp_path):
    empty = init(tmp_path / "empty")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert scan(Local(), str(empty), {}, cache_folder=tmp_path / "c")["state"] == "no commits"
    assert scan(Local(), str(plain), {}, cache_folder=tmp_path / "c")["state"] == "not a repository"
    assert findings_of(scan(Local(), str(empty), {}, cache_folder=tmp_path / "c"), tmp_path) == []


def test_git_missing_is_one_finding(planted, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    result = scan(Local(), str(planted.root), {}, cache_folder=tmp_path / "cache")
    assert (result["state"], result["error"]) == ("error", "git: no such program")
    assert [(f.id, f.detail) for f in findings_of(result, tmp_path)] == [
        ("git.secret_scan_error", "git could not be read for the scan: git: no such program")]


def test_a_damaged_cache_is_started_over(planted, tmp_path):
    folder = tmp_path / "cache"
    first = scan(Local(), str(planted.root), {}, cache_folder=folder)
    cache_file = next(p for p in folder.iterdir() if p.suffix == ".json")
    cache_file.write_text("{not json")
    again = scan(Local(), str(planted.root), {}, cache_folder=folder)
    assert again["stats"]["commits_read"] == 5 and places(again) == places(first)
    (folder / "key").write_text("short")
    keyless = scan(Local(), str(planted.root), {}, cache_folder=folder)
    assert keyless["cache"].startswith("cache not usable: ") and places(keyless) == places(first)


def test_paths_with_spaces_quotes_and_unicode_are_named_exactly(tmp_path):
    repo = init(tmp_path / "repo")
    token = "ghp_" + "Ab3" * 12
    commit(repo, "odd names", {'dir with space/ré "q".py': f'T = "{token}"\n', "secrets/tab\there.txt": "x\n"})
    result = scan(Local(), str(repo), {}, cache_folder=tmp_path / "cache")
    assert {(h["kind"], h["path"], h["rule"]) for h in result["hits"]} == {
        ("tree", 'dir with space/ré "q".py', "GitHub Token"), ("file", "secrets/tab\there.txt", "file in a secrets/ folder")}


def test_the_cache_folder_follows_xdg_cache_home(planted, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    scan(Local(), str(planted.root), {}, limit=None)
    folder = tmp_path / "xdg" / "django-remediation" / "secret-scan"
    assert sorted(p.suffix or p.name for p in folder.iterdir()) == [".json", "key"]
    assert os.stat(folder / "key").st_mode & 0o077 == 0


def test_a_damaged_repository_is_one_finding_and_the_audit_goes_on(tmp_path):
    repo = init(tmp_path / "repo")
    commit(repo, "one", {"a.txt": "hello\n"})
    commit(repo, "two", {"b.txt": "two\n"})
    blob = git(repo, "rev-parse", "HEAD:b.txt")
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    result = scan(Local(), str(repo), {}, cache_folder=tmp_path / "cache")
    assert (result["state"], result["error"]) == ("error", f"git log failed: fatal: unable to read {blob}")
    assert [(f.id, str(f.severity)) for f in findings_of(result, tmp_path)] == [("git.secret_scan_error", "low")]
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").glob("*.json")), "nothing cached"


def test_the_patch_bound_stops_at_a_chunk_and_says_how_many_were_left(tmp_path, monkeypatch):
    import importlib

    scan_module = importlib.import_module("remediation.secretscan.scan")
    repo = init(tmp_path / "repo")
    for number in range(4):
        commit(repo, f"change {number}", {f"f{number}.txt": "line\n" * 200})
    monkeypatch.setattr(scan_module, "CHUNK", 1)
    monkeypatch.setattr(scan_module, "MAX_HISTORY_TEXT", 100)
    result = scan(Local(), str(repo), {}, cache_folder=tmp_path / "cache")
    assert (result["commits"], result["stats"]["commits_read"]) == (1, 1), "the newest commit, then the bound"
    assert result["partial"] == ["the patches passed 0 MiB; 3 older commit(s) were not scanned"]
