"""--copy-data through the project's own environments, under both PostgreSQL drivers: the dump
runs under the development env (the SQLite file the project reads there, never modified), the
load under the planned production env, and every table's row count is compared."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess

from conftest import invoke, tree_digest

DOMAIN = "thebot.example.com"
SECRETS = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ",
    "OPENROUTER_API_KEY": "sk-or-v1-PLANTEDcopydata0123",
    "YOOKASSA_SHOP_ID": "506751",
    "YOOKASSA_SECRET_KEY": "live_PLANTEDcopydata0123",
    "EMAIL_HOST": "smtp.example.com",
    "EMAIL_HOST_USER": "bot@example.com",
    "EMAIL_HOST_PASSWORD": "PLANTED-copydata-smtp-0123",
}


def fix_prod(project, *args):
    run = invoke("fix-prod", "--project", str(project), "--format", "json", *args, timeout=600)
    return run, (json.loads(run.stdout) if run.stdout.strip().startswith("{") else None)


def fixes(document):
    return {f["name"]: f for f in document["hosts"][0]["fixes"]}


def reject_sqlite_urls(project):
    """Make the settings refuse a sqlite:// DATABASE_URL, as real production settings do."""
    settings = project / "backend" / "config" / "settings.py"
    text = settings.read_text()
    assert 'if scheme == "sqlite":' in text
    settings.write_text(text.replace('if scheme == "sqlite":', 'if False:  # sqlite:// refused'))


def sqlite_counts(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def pg_count(db, table):
    done = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc", f'SELECT count(*) FROM "{table}"'],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_copy_data_under_the_development_and_production_envs(demo, driver_python, postgres_db, tmp_path):
    reject_sqlite_urls(demo)
    sqlite_file = demo / "backend" / "db.sqlite3"
    digest = hashlib.sha256(sqlite_file.read_bytes()).hexdigest()
    source = sqlite_counts(sqlite_file)
    secrets = tmp_path / "secrets.env"
    secrets.write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    url = f"postgres://postgres:PLANTEDcopypass@127.0.0.1:5432/{postgres_db}"
    common = ("--python", driver_python, "--domain", DOMAIN, "--database-url", url, "--copy-data",
              "--secrets", str(secrets))

    before = tree_digest(demo)
    checked, document = fix_prod(demo, *common, "--check")
    assert fixes(document)["copy_data"]["status"] == "changed", checked.output
    assert fixes(document)["copy_data"]["message"] == (
        f"copy {sum(n for t, n in source.items() if t in COPIED(source))} rows in {len(COPIED(source))} tables "
        f"from {sqlite_file} (the development database)")
    assert tree_digest(demo) == before, "check mode writes nothing"

    run, document = fix_prod(demo, *common)
    copied = fixes(document)["copy_data"]
    assert copied["status"] == "changed", run.output
    assert copied["message"].startswith("copied ") and "every table's row count matches" in copied["message"]
    for table in ("accounts_user", "materials_material", "invoices_invoice", "assignments_assignment"):
        assert source[table] > 0 and pg_count(postgres_db, table) == source[table]
    assert hashlib.sha256(sqlite_file.read_bytes()).hexdigest() == digest, "the SQLite file is never modified"
    assert not list((demo / ".remediation").rglob("copy-data/*")), "the snapshot and the dump are removed"

    again, document = fix_prod(demo, *common)
    assert fixes(document)["copy_data"]["status"] == "ok"
    assert "already holds data" in fixes(document)["copy_data"]["message"]
    for text in (checked.output, run.output, again.output):
        assert "PLANTEDcopypass" not in text and "PLANTEDcopydata" not in text


def COPIED(counts):
    skip = {"django_migrations", "django_content_type", "auth_permission", "django_session"}
    return {t for t in counts if t not in skip and not t.startswith("sqlite_")}


def test_a_development_database_that_cannot_be_read_is_one_line(demo, postgres_db):
    sqlite_file = demo / "backend" / "db.sqlite3"
    sqlite_file.unlink()
    sqlite_file.mkdir()  # a folder where the database file was expected
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--copy-data",
                 "--database-url", f"postgres://postgres@127.0.0.1:5432/{postgres_db}")
    assert run.returncode == 2, run.output
    assert run.stderr.strip() == (f"error: --copy-data: under the development env ({demo / '.env'}) the SQLite "
                                  f"database {sqlite_file} cannot be read: OperationalError: disk I/O error")
    assert "Traceback" not in run.output
    assert tree_digest(demo) == before


def test_a_development_env_on_postgres_has_nothing_to_copy(demo, postgres_db):
    url = f"postgres://postgres@127.0.0.1:5432/{postgres_db}"
    env = demo / ".env"
    env.write_text(env.read_text() + f"DATABASE_URL={url}\n")
    run, document = fix_prod(demo, "--domain", DOMAIN, "--copy-data", "--database-url", url, "--check")
    copied = fixes(document)["copy_data"]
    assert (copied["status"], copied["message"]) == ("ok", "the development database is not SQLite; nothing to copy")
