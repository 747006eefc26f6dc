"""Hostile and clumsy command lines: each mistake is one line on stderr, exit status 2, no
traceback, and every file byte-identical. Also where --output may write (devices, symlinks) and
which domains may become configuration (one host name per flag or var)."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from pathlib import Path

import pytest
from conftest import tree_digest
from conftest import invoke as run_invoke

DOMAIN = "thebot.example.com"


@pytest.fixture
def demo(lenient_demo):
    """fix-prod on the demo's SQLite without a PostgreSQL URL: the lenient demo (the bundled demo's
    settings refuse SQLite in production, so fix-prod stops there, by design)."""
    return lenient_demo


def invoke(*args, **kwargs):
    return run_invoke(*args, **kwargs)


def assert_usage_error(run, text: str) -> None:
    assert run.returncode == 2, run.output
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and text in lines[0], lines[0]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("command", ["audit", "fix-prod"])
@pytest.mark.parametrize("flag", ["--project", "--python", "--env-file", "--output"])
def test_an_empty_path_is_a_usage_error(demo, command, flag):
    before = tree_digest(demo)
    args = ["--project", str(demo)] if flag != "--project" else []
    run = invoke(command, *args, flag, "")
    assert_usage_error(run, f"{flag}: empty value")
    assert tree_digest(demo) == before


@pytest.mark.parametrize("command", ["audit", "fix-prod"])
def test_env_file_that_is_a_directory(demo, command):
    folder = demo / "envs"
    folder.mkdir()
    before = tree_digest(demo)
    run = invoke(command, "--project", str(demo), "--env-file", str(folder))
    assert_usage_error(run, f"--env-file: {folder}: is a directory")
    assert tree_digest(demo) == before


def test_default_production_env_that_is_a_directory(demo):
    (demo / ".env.production").mkdir()
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN)
    assert_usage_error(run, f"{demo / '.env.production'}: Is a directory")
    assert tree_digest(demo) == before
    assert (demo / ".env.production").is_dir()


@pytest.mark.parametrize("domain, why", [
    ("evil.com,*", "a comma"),
    ("evil.com *", "' '"),
    ("-evil.com", "not starting or ending with '-'"),
    ("evil.com/admin", "a path"),
    ("evil.com'", "\"'\""),
    ('evil.com"', "'\"'"),
    ("evil.com\nDEBUG=True", "'\\n'"),
    ("*", "a wildcard"),
    ("localhost", "it needs a dot"),
    ("127.0.0.1", "an IP address"),
    ("evil.com:8000", "a port"),
])
def test_a_domain_must_be_one_host_name(demo, domain, why):
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), f"--domain={domain}")
    assert_usage_error(run, f"--domain: {domain!r} ")
    assert why in run.stderr
    assert tree_digest(demo) == before


def test_an_internationalised_domain_is_written_as_punycode(demo):
    run = invoke("fix-prod", "--project", str(demo), "--domain", "bücher.example", "--domain", DOMAIN,
                 "--check", "--diff", "--format", "json")
    assert run.returncode == 1, run.stderr
    diff = "".join(change["diff"] or "" for change in json.loads(run.stdout)["hosts"][0]["changes"])
    assert f"+ALLOWED_HOSTS=xn--bcher-kva.example,{DOMAIN}" in diff
    assert "bücher" not in diff


def test_a_domain_host_var_must_be_host_names(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("hosts:\n  web1:\n    address: 127.0.0.1\n    domains: 'evil.com,*'\n")
    run = invoke("inventory", "-i", str(inventory))
    assert_usage_error(run, "domains: '*' is not a host name: it contains a wildcard")


@pytest.mark.parametrize("url", ["postgres://app:PLANTED'pw@127.0.0.1:5432/app", 'postgres://app:PLANTED"pw@127.0.0.1/app',
                                 "postgres://app:PLANTEDpw@127.0.0.1/app name", "postgres://app:PLANTEDpw@127.0.0.1/app\n"])
def test_a_quote_space_or_newline_in_the_database_url(demo, url):
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--database-url", url)
    assert_usage_error(run, "--database-url: 'postgres://app:****@127.0.0.1")
    assert "PLANTED" not in run.stderr
    assert tree_digest(demo) == before


@pytest.mark.parametrize("command", ["audit", "fix-prod", "rollback"])
def test_forks_that_are_not_a_number(command, tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("hosts:\n  web1:\n    address: 127.0.0.1\n")
    for value, text in (("abc", "--forks: 'abc' is not a whole number"), ("0", "--forks must be at least 1")):
        assert_usage_error(invoke(command, "-i", str(inventory), "-f", value), text)


def test_a_huge_host_range_is_refused_in_one_line(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[web]\nhost[1:100000000]\n")
    run = invoke("inventory", "-i", str(inventory))
    assert_usage_error(run, "the host range [1:100000000] makes 100,000,000 hosts; at most 10,000 per pattern")


def test_nested_ranges_are_counted_before_they_are_made(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[web]\nrack[1:200]-node[1:200]\n")
    assert_usage_error(invoke("inventory", "-i", str(inventory)), "makes 40,000 hosts")
    inventory.write_text("[web]\nrack[1:20]-node[1:50]\n")
    run = invoke("inventory", "-i", str(inventory))
    assert run.returncode == 0 and len(json.loads(run.stdout)) == 1000


# --- --output ----------------------------------------------------------------------------------


def test_output_onto_dev_null_leaves_the_device(demo):
    run = invoke("audit", "--project", str(demo), "--format", "json", "--output", "/dev/null")
    assert run.returncode == 1, run.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "the device was replaced by a regular file"
    assert run.stdout == ""


def test_output_into_a_pipe_is_written_in_place(demo, tmp_path):
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    run = invoke("audit", "--project", str(demo), "--format", "json", "--output", str(fifo))
    reader.join(30)
    assert run.returncode == 1, run.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["hosts"][0]["project"] == str(demo)


def test_output_through_a_symlink_writes_the_target_and_keeps_the_link(demo, tmp_path):
    target = tmp_path / "reports" / "latest.json"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    run = invoke("audit", "--project", str(demo), "--format", "json", "--output", str(link))
    assert run.returncode == 1, run.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["hosts"][0]["project"] == str(demo)
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest.json"], "no temp file left"


def test_output_onto_a_directory_is_a_usage_error(demo, tmp_path):
    before = tree_digest(tmp_path)
    assert_usage_error(invoke("audit", "--project", str(demo), "--output", str(tmp_path)),
                       f"--output: {tmp_path}: is a directory")
    assert tree_digest(tmp_path) == before


# --- tools missing from PATH -------------------------------------------------------------------


def path_without(tmp_path: Path, *missing: str) -> str:
    """A PATH with every program of this one except ``missing``."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            source = Path(directory) / name
            if name in missing or (folder / name).exists() or not os.access(source, os.X_OK) or source.is_dir():
                continue
            (folder / name).symlink_to(source)
    return str(folder)


def test_pg_dump_missing_ends_in_one_line(demo, postgres_db, tmp_path):
    """The migrate fix needs pg_dump for its backup; without it the run ends in one line."""
    path = path_without(tmp_path, "pg_dump", "pg_restore")
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--python", sys.executable,
                 "--database-url", f"postgres://postgres@127.0.0.1:5432/{postgres_db}", env={"PATH": path})
    assert "Traceback" not in run.output
    assert run.returncode == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "pg_dump" in lines[0], run.stderr
