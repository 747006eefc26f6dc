"""fix-prod on real temp copies of the demo: check mode, apply, apply again, and the failures."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import REPO, git, invoke, tree_digest
from dotenv import dotenv_values

DOMAIN = "thebot.example.com"
SECRETS = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ",
    "OPENROUTER_API_KEY": "sk-or-v1-PLANTEDopenrouter0123",
    "YOOKASSA_SHOP_ID": "506751",
    "YOOKASSA_SECRET_KEY": "live_PLANTEDyookassa0123",
    "EMAIL_HOST": "smtp.example.com",
    "EMAIL_HOST_USER": "bot@example.com",
    "EMAIL_HOST_PASSWORD": "PLANTED-smtp-pass-0123",
}
SECRET_KEYS = ("TELEGRAM_BOT_TOKEN", "OPENROUTER_API_KEY", "YOOKASSA_SECRET_KEY", "EMAIL_HOST_PASSWORD")


@pytest.fixture
def demo(lenient_demo):
    """These tests run fix-prod on SQLite without a PostgreSQL URL: the lenient demo. The strict
    one (the bundled demo) stops there, by design: tests/test_fix_prod_strict.py."""
    return lenient_demo


@pytest.fixture
def git_demo(lenient_git_demo):
    return lenient_git_demo


def fix_prod(project, *args, **kwargs):
    run = invoke("fix-prod", "--project", str(project), "--format", "json", *args, **kwargs)
    document = json.loads(run.stdout) if run.stdout.strip().startswith("{") else None
    return run, document


def statuses(document):
    return {fix["name"]: fix["status"] for fix in document["hosts"][0]["fixes"]}


def states(document):
    return {f["id"]: f["status"] for f in document["hosts"][0]["findings"]}


def prod_env(project):
    return dotenv_values(project / ".env.production")


def secrets_file(tmp_path, values=SECRETS):
    path = tmp_path / "secrets.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def db_rows(project):
    with sqlite3.connect(project / "backend" / "db.sqlite3") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}


def no_temp_files(root):
    return [p for p in root.rglob("*.tmp")]


# --- the three ways ---------------------------------------------------------------------------


def test_check_mode_changes_nothing(demo):
    before, rows = tree_digest(demo), db_rows(demo)
    run, document = fix_prod(demo, "--domain", DOMAIN, "--check", "--diff")
    assert run.returncode == 1, run.stderr
    fixes = statuses(document)
    assert fixes["secret_key"] == "changed" and fixes["migrate"] == "changed" and fixes["collectstatic"] == "changed"
    assert document["hosts"][0]["check"] is True
    assert tree_digest(demo) == before
    assert db_rows(demo) == rows
    assert not (demo / ".env.production").exists()
    diff = document["hosts"][0]["changes"][0]["diff"]
    assert "+DEBUG=False" in diff and "+SECRET_KEY=****" in diff and "mode absent -> 0o600" in diff


def test_apply_then_apply_again_changes_nothing(demo):
    run, document = fix_prod(demo, "--domain", DOMAIN)
    assert run.returncode == 1  # external credentials and the database still need a person
    fixes = statuses(document)
    assert {k: fixes[k] for k in ("secret_key", "env_file", "redis", "migrate", "collectstatic")} == dict.fromkeys(
        ("secret_key", "env_file", "redis", "migrate", "collectstatic"), "changed")
    assert fixes["external"] == "needs input" and fixes["database"] == "needs input"
    env = prod_env(demo)
    assert env["DEBUG"] == "False" and env["ENVIRONMENT"] == "production"
    assert env["ALLOWED_HOSTS"] == DOMAIN
    assert env["CSRF_TRUSTED_ORIGINS"] == env["CORS_ALLOWED_ORIGINS"] == f"https://{DOMAIN}"
    assert env["USE_REDIS_CACHE"] == "True" and env["CELERY_BROKER_URL"] == env["REDIS_URL"]
    assert oct((demo / ".env.production").stat().st_mode & 0o777) == "0o600"
    assert "DEBUG=True" in (demo / ".env").read_text()
    found = states(document)
    for fixed in ("env.debug", "env.secret_key", "security.hsts", "security.ssl_redirect", "cache.local",
                  "channels.in_memory", "database.migrations_unapplied", "django.static_not_collected"):
        assert found[fixed] == "fixed", fixed
    assert found["external.telegram"] == "needs input"
    assert document["hosts"][0]["planned_probes"] == 1  # the settings import at once: one planned-env probe
    digest = tree_digest(demo)
    again, document = fix_prod(demo, "--domain", DOMAIN)
    assert document["hosts"][0]["recap"]["changed"] == 0
    assert document["hosts"][0]["planned_probes"] == 0  # nothing planned: the env as written is the planned env
    assert all(s in ("ok", "needs input") for s in statuses(document).values())
    assert {k: v for k, v in tree_digest(demo).items() if ".remediation" not in k} == \
        {k: v for k, v in digest.items() if ".remediation" not in k}


def test_secret_key_reads_back_through_dotenv_and_bash(demo):
    fix_prod(demo, "--domain", DOMAIN)
    key = prod_env(demo)["SECRET_KEY"]
    assert len(key) >= 50 and len(set(key)) >= 5 and not key.startswith("django-insecure-")
    shell = subprocess.run(["bash", "-c", 'set -a; . "$1"; printf %s "$SECRET_KEY"', "_", str(demo / ".env.production")],
                           capture_output=True, text=True, check=True)
    assert shell.stdout == key
    again = prod_env(demo)
    fix_prod(demo, "--domain", DOMAIN)
    assert prod_env(demo)["SECRET_KEY"] == again["SECRET_KEY"], "a strong key must never be rotated silently"


def test_every_value_reads_back_the_same_in_bash(demo):
    fix_prod(demo, "--domain", DOMAIN)
    env = prod_env(demo)
    script = 'set -a; . "$1"; python3 -c "import json,os,sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))" ' + " ".join(env)
    shell = subprocess.run(["bash", "-c", script, "_", str(demo / ".env.production")], capture_output=True, text=True, check=True)
    assert json.loads(shell.stdout) == {k: v for k, v in env.items()}


def test_rotate_secret_key_keeps_the_old_one_as_fallback(demo):
    fix_prod(demo, "--domain", DOMAIN)
    old = prod_env(demo)["SECRET_KEY"]
    run, document = fix_prod(demo, "--domain", DOMAIN, "--rotate-secret-key")
    env = prod_env(demo)
    assert env["SECRET_KEY"] != old and env["SECRET_KEY_FALLBACKS"] == old
    assert statuses(document)["secret_key"] == "changed"
    assert document["hosts"][0]["audit"]["facts"]["probe"]["settings"]["SECRET_KEY"]["fallbacks"] == 1
    assert old not in run.output and env["SECRET_KEY"] not in run.output


def test_env_file_option_names_the_file_and_keeps_unknown_keys(demo, tmp_path):
    target = tmp_path / "prod.env"
    target.write_text("# ops notes stay\nSENTRY_ENVIRONMENT=prod\nDEBUG=True\n")
    run, document = fix_prod(demo, "--domain", DOMAIN, "--env-file", str(target))
    text = target.read_text()
    assert text.startswith("# ops notes stay\nSENTRY_ENVIRONMENT=prod\nDEBUG=False\n")
    assert not (demo / ".env.production").exists()


def test_missing_domain_is_needs_input(demo):
    run, document = fix_prod(demo)
    assert statuses(document)["env_file"] == "needs input"
    assert states(document)["env.allowed_hosts"] == "needs input"
    assert document["hosts"][0]["fixes"][1]["needs"] == ["--domain"]


# --- settings that do not derive the flags from the env -----------------------------------------


def test_security_flags_through_a_settings_overlay(demo):
    settings = demo / "backend" / "config" / "settings.py"
    text = settings.read_text()
    start = text.index("if not DEBUG:")
    end = text.index("\n\n", start)
    settings.write_text(text[:start] + "pass" + text[end:])
    before = tree_digest(demo)
    checked, document = fix_prod(demo, "--domain", DOMAIN, "--check", "--diff")
    assert statuses(document)["security_flags"] == "changed"
    assert "+SECURE_HSTS_SECONDS = 31536000" in json.dumps(document)
    assert tree_digest(demo) == before
    run, document = fix_prod(demo, "--domain", DOMAIN)
    assert statuses(document)["security_flags"] == "changed"
    overlay = demo / "backend" / "config" / "settings_production.py"
    assert "from config.settings import *" in overlay.read_text()
    assert prod_env(demo)["DJANGO_SETTINGS_MODULE"] == "config.settings_production"
    found = states(document)
    assert all(found[i] == "fixed" for i in ("security.hsts", "security.ssl_redirect", "security.session_cookie_secure"))
    django_ids = {d for f in document["hosts"][0]["audit"]["findings"] for d in f["django_ids"]}
    assert not django_ids & {"security.W004", "security.W008", "security.W012", "security.W016", "security.W018"}
    again, document = fix_prod(demo, "--domain", DOMAIN)
    assert statuses(document)["security_flags"] == "ok" and document["hosts"][0]["recap"]["changed"] == 0


# --- needs input --------------------------------------------------------------------------------


def test_secrets_file_supplies_the_external_keys_and_never_prints_them(demo, tmp_path):
    run, document = fix_prod(demo, "--domain", DOMAIN, "--secrets", str(secrets_file(tmp_path)), "--diff")
    assert statuses(document)["external"] == "changed"
    env = prod_env(demo)
    assert all(env[k] == v for k, v in SECRETS.items())
    text = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--diff", "--check")
    for value in (SECRETS["EMAIL_HOST_PASSWORD"], SECRETS["YOOKASSA_SECRET_KEY"], SECRETS["TELEGRAM_BOT_TOKEN"],
                  SECRETS["OPENROUTER_API_KEY"], env["SECRET_KEY"]):
        assert value not in run.output and value not in text.output


def test_environment_supplies_keys_too(demo):
    run, document = fix_prod(demo, "--domain", DOMAIN, env=SECRETS)
    assert statuses(document)["external"] == "changed"


def test_invalid_secret_format_fails_and_writes_nothing(demo, tmp_path):
    bad = {**SECRETS, "TELEGRAM_BOT_TOKEN": "not-a-token-PLANTED"}
    before = tree_digest(demo)
    run, document = fix_prod(demo, "--domain", DOMAIN, "--secrets", str(secrets_file(tmp_path, bad)), "--check")
    assert statuses(document)["external"] == "failed"
    assert "TELEGRAM_BOT_TOKEN is not a Telegram bot token" in run.stdout
    assert "not-a-token-PLANTED" not in run.output
    assert tree_digest(demo) == before


def test_malformed_secrets_file(demo, tmp_path):
    bad = tmp_path / "secrets.env"
    bad.write_text("TELEGRAM_BOT_TOKEN=123\nEMAIL_HOST_PASSWORD='unterminated\n")
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--secrets", str(bad))
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: --secrets: {bad}:2: cannot parse this line"
    assert tree_digest(demo) == before


# --- migrations ---------------------------------------------------------------------------------


def test_failing_migration_restores_the_database(demo):
    broken = demo / "backend" / "invoices" / "migrations" / "0006_explode.py"
    broken.write_text(
        "from django.db import migrations\n\n\ndef explode(apps, schema_editor):\n"
        "    raise RuntimeError('boom in data migration')\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('invoices', '0005_fix_enrollment_reference')]\n"
        "    operations = [migrations.RunPython(explode)]\n"
    )
    rows = db_rows(demo)
    run, document = fix_prod(demo, "--domain", DOMAIN)
    assert run.returncode == 1
    fixes = {f["name"]: f for f in document["hosts"][0]["fixes"]}
    assert fixes["migrate"]["status"] == "failed"
    assert fixes["migrate"]["message"] == ("rehearsal on a copy: migration invoices.0006_explode failed: RuntimeError: "
                                           "boom in data migration; the real database was not touched")
    assert fixes["collectstatic"]["status"] == "skipped"
    assert db_rows(demo) == rows, "the database must be as it was before migrate"
    backups = [p.name for p in (demo / ".remediation" / "runs").glob("*/db/*")]
    assert backups == ["db.sqlite3"], "the backup stays, the rehearsal copy is gone"


def test_no_backup_skips_the_backup(demo):
    run, document = fix_prod(demo, "--domain", DOMAIN, "--no-backup")
    assert statuses(document)["migrate"] == "changed"
    assert not list((demo / ".remediation" / "runs").glob("*/db/*"))


# --- PostgreSQL ---------------------------------------------------------------------------------


def test_switch_to_postgres_create_copy_and_verify(demo, postgres_db, redis_server, tmp_path):
    role = postgres_db.replace("remediation_test_", "role_")  # per test: a killed run's leftover role never collides
    url = f"postgres://{role}:PLANTEDpgpass@127.0.0.1:5432/{postgres_db}_new"
    sqlite_before = tree_digest(demo / "backend")["db.sqlite3"]
    try:
        before = tree_digest(demo)
        checked, document = fix_prod(demo, "--domain", DOMAIN, "--database-url", url, "--create-database", "--copy-data",
                                     "--check")
        fixes = {f["name"]: f for f in document["hosts"][0]["fixes"]}
        assert fixes["database"]["status"] == "changed" and "create role and database" in fixes["database"]["message"]
        assert fixes["copy_data"]["status"] == "changed"
        assert tree_digest(demo) == before
        exists = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                                 f"SELECT count(*) FROM pg_database WHERE datname = '{postgres_db}_new'"],
                                capture_output=True, text=True, check=True)
        assert exists.stdout.strip() == "0", "check mode must not create the database"
        run, document = fix_prod(demo, "--domain", DOMAIN, "--database-url", url, "--create-database", "--copy-data",
                                 "--secrets", str(secrets_file(tmp_path)))
        assert run.returncode == 0, run.stdout + run.stderr
        fixes = {f["name"]: f for f in document["hosts"][0]["fixes"]}
        assert fixes["database"]["status"] == "changed" and f"created role {role}" in fixes["database"]["message"]
        assert "every table's row count matches" in fixes["copy_data"]["message"]
        assert document["hosts"][0]["audit"]["verdict"]["production"] in ("ready", "partial")
        assert document["blocked"] is False
        assert tree_digest(demo / "backend")["db.sqlite3"] == sqlite_before, "the SQLite file must never change"
        assert "PLANTEDpgpass" not in run.output
        again, document = fix_prod(demo, "--domain", DOMAIN, "--database-url", url, "--create-database", "--copy-data")
        assert again.returncode == 0 and document["hosts"][0]["recap"]["changed"] == 0
    finally:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", f'DROP DATABASE IF EXISTS "{postgres_db}_new" WITH (FORCE)',
                        "-c", f'DROP ROLE IF EXISTS "{role}"'], capture_output=True)


def test_database_url_that_does_not_answer(demo):
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN,
                 "--database-url", "postgres://u:PLANTEDnope@127.0.0.1:1/thebot")
    assert run.returncode == 2
    assert run.stderr.startswith("error: --database-url: postgres://u:****@127.0.0.1:1/thebot does not answer")
    assert "PLANTEDnope" not in run.output
    assert tree_digest(demo) == before


def test_database_url_that_is_not_postgres(demo):
    run = invoke("fix-prod", "--project", str(demo), "--database-url", "mysql://u:p@h/db")
    assert run.returncode == 2 and "scheme 'mysql' is not postgres://" in run.stderr


# --- git ----------------------------------------------------------------------------------------


def test_push_only_when_asked_and_dirty_tree_stops(git_demo, tmp_path):
    run, document = fix_prod(git_demo, "--domain", DOMAIN)
    assert statuses(document)["git_push"] == "skipped"
    assert int(git(git_demo, "rev-list", "--count", "origin/main..HEAD")) == 3
    run, document = fix_prod(git_demo, "--domain", DOMAIN, "--push", "--check")
    assert statuses(document)["git_push"] == "changed"
    assert int(git(git_demo, "rev-list", "--count", "origin/main..HEAD")) == 3
    run, document = fix_prod(git_demo, "--domain", DOMAIN, "--push")
    assert statuses(document)["git_push"] == "changed"
    assert git(git_demo, "rev-list", "--count", "origin/main..HEAD") == "0"
    assert states(document)["git.unpushed"] == "fixed"
    (git_demo / "backend" / "wip.py").write_text("x = 1\n")
    before = tree_digest(git_demo)
    dirty = invoke("fix-prod", "--project", str(git_demo), "--domain", DOMAIN)
    assert dirty.returncode == 2 and "uncommitted file(s) in the work tree; commit them or pass --allow-dirty" in dirty.stderr
    assert tree_digest(git_demo) == before
    allowed, _ = fix_prod(git_demo, "--domain", DOMAIN, "--allow-dirty")
    assert allowed.returncode == 1, allowed.stderr  # external credentials still need a person


# --- bad input and failures ---------------------------------------------------------------------


def test_env_path_in_a_missing_folder(demo, tmp_path):
    run = invoke("fix-prod", "--project", str(demo), "--env-file", str(tmp_path / "no" / "prod.env"))
    assert run.returncode == 2 and "no such directory" in run.stderr


@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 KiB tmpfs: filled up to test a full disk, or remounted read-only."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_leaves_the_original_and_no_temp_file(demo, tiny_fs):
    target = tiny_fs / ".env.production"
    target.write_text("DEBUG=True\n")
    (tiny_fs / "filler").write_bytes(b"\0" * (64 * 1024 - 4096))
    subprocess.run(["dd", "if=/dev/zero", f"of={tiny_fs / 'rest'}", "bs=1k", "count=64"], capture_output=True)
    run, document = fix_prod(demo, "--domain", DOMAIN, "--env-file", str(target))
    assert run.returncode == 1
    assert statuses(document)["secret_key"] == "failed"
    assert "No space left on device" in json.dumps(document)
    assert target.read_text() == "DEBUG=True\n"
    assert sorted(p.name for p in tiny_fs.iterdir()) == [".env.production", "filler", "rest"]


def test_read_only_env_location(demo, tiny_fs):
    target = tiny_fs / ".env.production"
    target.write_text("DEBUG=True\n")
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], check=True)
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--env-file", str(target))
    assert run.returncode == 2 and run.stderr.strip() == f"error: --env-file: {target}: not writable"
    assert target.read_text() == "DEBUG=True\n"


def test_interrupted_write_leaves_the_original(tmp_path, monkeypatch):
    from remediation.transport import Local

    target = tmp_path / "prod.env"
    target.write_text("ORIGINAL=1\n")

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        Local().write_atomic(str(target), "NEW=2\n" * 1000, 0o600)
    assert target.read_text() == "ORIGINAL=1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["prod.env"]


# Ctrl-C and kill -9 inside a write (delivered in the window, proven): tests/test_write_safety.py


# --- rollback -----------------------------------------------------------------------------------


def test_rollback_restores_files_and_database(demo):
    dev_env = (demo / ".env").read_text()
    rows = db_rows(demo)
    fix_prod(demo, "--domain", DOMAIN)
    assert (demo / ".env.production").exists() and db_rows(demo) != rows
    run = invoke("rollback", "--project", str(demo), "--database")
    assert run.returncode == 0, run.stderr
    assert not (demo / ".env.production").exists()
    assert (demo / ".env").read_text() == dev_env
    assert db_rows(demo) == rows
    nothing = invoke("rollback", "--project", str(demo))
    assert nothing.returncode == 2 and "no fix-prod run to roll back" in nothing.stderr


# --- the whole path -----------------------------------------------------------------------------


def test_audit_fix_prod_audit(git_demo, postgres_db, redis_server, tmp_path):
    url = f"postgres://postgres:PLANTEDpath@127.0.0.1:5432/{postgres_db}"
    first = invoke("audit", "--project", str(git_demo), "--format", "json")
    assert first.returncode == 1
    # The committed .env is git.secret_file_tracked (high), which only a person fixes: untrack it first.
    assert "git.secret_file_tracked" in {f["id"] for f in json.loads(first.stdout)["hosts"][0]["findings"]}
    with (git_demo / ".gitignore").open("a") as handle:
        handle.write(".env\n")
    git(git_demo, "rm", "-q", "--cached", ".env")
    git(git_demo, "commit", "-q", "-am", "untrack .env")
    run, document = fix_prod(git_demo, "--domain", DOMAIN, "--database-url", url, "--copy-data", "--push",
                             "--secrets", str(secrets_file(tmp_path)))
    assert run.returncode == 0, run.stdout
    final = invoke("audit", "--project", str(git_demo), "--env-file", str(git_demo / ".env.production"), "--format", "json")
    assert final.returncode == 0, final.stdout
    report = json.loads(final.stdout)["hosts"][0]
    assert report["blocked"] is False
    assert not [f for f in report["findings"] if f["severity"] in ("critical", "high")]
    assert git(git_demo, "status", "--porcelain") == ""
    for value in [*(SECRETS[k] for k in SECRET_KEYS), "PLANTEDpath"]:
        assert value not in first.output + run.output + final.output


def test_prompt_asks_for_each_missing_value_on_a_terminal(demo):
    """With a terminal attached, each missing key is asked for (not echoed), validated and written."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(REPO)
        os.execvp(sys.executable, [sys.executable, "-m", "invoke", "fix-prod", "--project", str(demo), "--domain", DOMAIN])
    answers = dict(SECRETS)
    seen, everything, asked = b"", b"", []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        everything += chunk
        for key in list(answers):
            if f"{key} (empty to skip): ".encode() in seen:
                os.write(fd, answers.pop(key).encode() + b"\n")
                asked.append(key)
                seen = b""
    os.waitpid(pid, 0)
    assert asked == list(SECRETS), asked
    env = prod_env(demo)
    assert all(env[k] == v for k, v in SECRETS.items())
    import re

    assert b"external         changed" in re.sub(rb"\x1b\[[0-9;]*m", b"", everything)
    for key in SECRET_KEYS:
        assert SECRETS[key].encode() not in everything, f"{key} echoed or printed"


def test_backups_are_kept_for_the_newest_runs_only(tmp_path):
    from remediation.changes import KEEP_RUNS, STATE_DIR, prune_runs
    from remediation.transport import Local

    runs = tmp_path / STATE_DIR / "runs"
    names = [f"20261125T10{minute:02d}00-1" for minute in range(KEEP_RUNS + 3)]
    for name in names:
        (runs / name).mkdir(parents=True)
        (runs / name / "manifest.json").write_text("{}")
    prune_runs(Local(), str(tmp_path))
    assert sorted(p.name for p in runs.iterdir()) == names[-KEEP_RUNS:]


def test_a_run_with_nothing_to_do_starts_django_once(demo, tmp_path):
    fix_prod(demo, "--domain", DOMAIN)
    starts = tmp_path / "starts.log"
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text(f"open({str(starts)!r}, 'a').write('start\\n')\n" + settings.read_text())
    run, document = fix_prod(demo, "--domain", DOMAIN)
    assert document["hosts"][0]["recap"]["changed"] == 0
    assert starts.read_text() == "start\n"


def test_the_bundled_demo_is_never_changed_in_place():
    from conftest import DEMO

    before = tree_digest(DEMO)
    run = invoke("fix-prod", "--domain", DOMAIN)
    assert run.returncode == 2 and "the bundled demo is never changed in place" in run.stderr
    checked = invoke("fix-prod", "--domain", DOMAIN, "--check")
    assert checked.returncode == 1
    assert tree_digest(DEMO) == before
