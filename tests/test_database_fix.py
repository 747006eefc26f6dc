"""The database fix writes the variables the settings read: DATABASE_URL, or the DB_* family
(POSTGRES_*, PG*, SQL_*), whichever they use; with --create-database under both drivers."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from conftest import invoke, tree_digest
from dotenv import dotenv_values

from remediation.fixes.database import variables

DOMAIN = "thebot.example.com"
URL = "postgres://shop:p%40ss@127.0.0.1:5433/shop%20db"
DB_SETTINGS = '''
DB_ENGINE = os.environ.get("DB_ENGINE", "django.db.backends.sqlite3")
if DB_ENGINE.endswith("sqlite3"):
    DATABASES = {"default": {"ENGINE": DB_ENGINE, "NAME": os.environ.get("DB_NAME", str(BASE_DIR / "db.sqlite3"))}}
else:
    DATABASES = {"default": {
        "ENGINE": DB_ENGINE,
        "NAME": os.environ["DB_NAME"],
        "USER": os.environ.get("DB_USER", "nobody"),
        "PASSWORD": os.environ.get("DB_PASSWORD", ""),
        "HOST": os.environ.get("DB_HOST", "localhost"),
        "PORT": os.environ.get("DB_PORT", "5432"),
    }}

'''


@pytest.mark.parametrize("reads, written", [
    (None, {"DATABASE_URL": URL}),
    ({"DATABASE_URL": {"default": ""}, "REDIS_URL": {"default": None}}, {"DATABASE_URL": URL}),
    ({"DJANGO_DATABASE_URL": {"default": None}}, {"DJANGO_DATABASE_URL": URL}),
    ({"DB_ENGINE": {"default": "django.db.backends.sqlite3"}, "DB_NAME": {"default": "/p/db.sqlite3"}},
     {"DB_ENGINE": "django.db.backends.postgresql", "DB_NAME": "shop db", "DB_USER": "shop", "DB_PASSWORD": "p@ss",
      "DB_HOST": "127.0.0.1", "DB_PORT": "5433"}),
    ({"POSTGRES_DB": {"default": None}, "POSTGRES_HOST": {"default": "db"}},
     {"POSTGRES_DB": "shop db", "POSTGRES_USER": "shop", "POSTGRES_PASSWORD": "p@ss", "POSTGRES_HOST": "127.0.0.1",
      "POSTGRES_PORT": "5433"}),
    ({"PGDATABASE": {"default": None}},
     {"PGDATABASE": "shop db", "PGUSER": "shop", "PGPASSWORD": "p@ss", "PGHOST": "127.0.0.1", "PGPORT": "5433"}),
    ({"SQL_ENGINE": {"default": "sqlite"}, "SQL_DATABASE": {"default": None}, "SQL_PASS": {"default": None}},
     {"SQL_ENGINE": "postgresql", "SQL_DATABASE": "shop db", "SQL_USER": "shop", "SQL_PASS": "p@ss",
      "SQL_HOST": "127.0.0.1", "SQL_PORT": "5433"}),
    ({"DB": {"default": "sqlite"}},
     {"DB": "postgresql", "DB_NAME": "shop db", "DB_USER": "shop", "DB_PASSWORD": "p@ss", "DB_HOST": "127.0.0.1",
      "DB_PORT": "5433"}),
    ({"SECRET_KEY": {"default": None}, "DB_CONN_MAX_AGE": {"default": "60"}, "EMAIL_HOST": {"default": ""}}, {}),
])
def test_variables_follow_what_the_settings_read(reads, written):
    assert variables(URL, reads) == written


def db_family_demo(project):
    """The demo with THE_BOT's DATABASE_URL block replaced by DB_ENGINE/DB_NAME/... reads."""
    settings = project / "backend" / "config" / "settings.py"
    text = settings.read_text()
    start, end = text.index('DATABASE_URL = os.getenv("DATABASE_URL"'), text.index("DEFAULT_AUTO_FIELD")
    settings.write_text(text[:start] + DB_SETTINGS + text[end:])
    return project


def psql(sql):
    return subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-tAc", sql],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_db_family_written_and_database_created(demo, driver_python, postgres_db):
    db_family_demo(demo)
    role, name = f"remediation_r_{uuid.uuid4().hex[:8]}", f"{postgres_db}_fam"
    url = f"postgres://{role}:PLANTED%23fam@127.0.0.1:5432/{name}"
    try:
        before = tree_digest(demo)
        checked = invoke("fix-prod", "--project", str(demo), "--python", driver_python, "--domain", DOMAIN,
                         "--database-url", url, "--create-database", "--check", "--format", "json", timeout=600)
        fixes = {f["name"]: f for f in json.loads(checked.stdout)["hosts"][0]["fixes"]}
        assert fixes["database"]["status"] == "changed", checked.output
        assert fixes["database"]["message"] == (
            f"DB_ENGINE, DB_NAME, DB_USER, DB_PASSWORD, DB_HOST, DB_PORT set from "
            f"postgres://{role}:****@127.0.0.1:5432/{name}; create role and database")
        assert tree_digest(demo) == before
        assert psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "0", "planning creates nothing"

        run = invoke("fix-prod", "--project", str(demo), "--python", driver_python, "--domain", DOMAIN,
                     "--database-url", url, "--create-database", "--format", "json", timeout=600)
        document = json.loads(run.stdout)["hosts"][0]
        fixes = {f["name"]: f for f in document["fixes"]}
        assert fixes["database"]["status"] == "changed", run.output
        assert f"created role {role}, database {name}" in fixes["database"]["message"]
        env = dotenv_values(demo / ".env.production")
        assert {k: env.get(k) for k in ("DB_ENGINE", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT")} == {
            "DB_ENGINE": "django.db.backends.postgresql", "DB_NAME": name, "DB_USER": role,
            "DB_PASSWORD": "PLANTED#fam", "DB_HOST": "127.0.0.1", "DB_PORT": "5432"}
        assert "DATABASE_URL" not in env, "the settings do not read DATABASE_URL"
        states = {f["id"]: f["status"] for f in document["findings"]}
        assert states["database.sqlite"] == "fixed"
        assert document["audit"]["facts"]["probe"]["database"]["vendor"] == "postgresql"
        assert document["audit"]["facts"]["probe"]["database"]["reachable"] is True
        for text in (checked.output, run.output):
            assert "PLANTED%23fam" not in text and "PLANTED#fam" not in text
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        psql(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="module")
def scram_postgres():
    """A PostgreSQL server of our own that checks passwords (scram-sha-256; the shared one trusts
    127.0.0.1), on a free port of 127.0.0.1; yields (port, admin password)."""
    import os
    import shutil
    import socket
    import tempfile

    from conftest import _service_missing

    bindir = next(iter(sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin/"))), None)
    if bindir is None or os.geteuid() != 0:
        _service_missing("a PostgreSQL installation to start a password-checking server (as root)")
    folder = tempfile.mkdtemp(prefix="remediation-scram-")
    shutil.chown(folder, "postgres")
    with open(f"{folder}/pw", "w") as handle:
        handle.write("PLANTEDadmin\n")
    shutil.chown(f"{folder}/pw", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def as_postgres(*argv):
        return subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, timeout=120)

    try:
        made = as_postgres(f"{bindir}initdb", "-D", f"{folder}/data", "-A", "scram-sha-256", "-U", "postgres",
                           f"--pwfile={folder}/pw", "-N")
        started = made.returncode == 0 and as_postgres(
            f"{bindir}pg_ctl", "-D", f"{folder}/data", "-w", "-l", f"{folder}/log", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start").returncode == 0
        if not started:
            _service_missing(f"a password-checking PostgreSQL ({made.stderr.strip()[-200:]})")
        yield port, "PLANTEDadmin"
    finally:
        as_postgres(f"{bindir}pg_ctl", "-D", f"{folder}/data", "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_percent_encoded_password_the_settings_do_not_decode(demo, driver_python, scram_postgres):
    port, admin = scram_postgres
    role, name = f"pct_{uuid.uuid4().hex[:8]}", f"pct_{uuid.uuid4().hex[:8]}"
    password = "PLANTED@pc word#1"
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres", "-qc",
                    f"CREATE ROLE {role} LOGIN PASSWORD '{password}'", "-c", f"CREATE DATABASE {name} OWNER {role}"],
                   env={"PGPASSWORD": admin, "PATH": "/usr/bin:/bin"}, check=True, capture_output=True)
    url = f"postgres://{role}:PLANTED%40pc%20word%231@127.0.0.1:{port}/{name}"

    # THE_BOT's settings decode the password (unquote): the planned env reaches the database.
    checked = invoke("fix-prod", "--project", str(demo), "--python", driver_python, "--domain", DOMAIN,
                     "--database-url", url, "--check", timeout=600)
    assert checked.returncode == 1 and "error:" not in checked.stderr, checked.output

    settings = demo / "backend" / "config" / "settings.py"
    text = settings.read_text()
    assert '"PASSWORD": unquote(parsed.password or ""),' in text
    settings.write_text(text.replace('"PASSWORD": unquote(parsed.password or ""),', '"PASSWORD": parsed.password or "",'))
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--python", driver_python, "--domain", DOMAIN,
                 "--database-url", url, timeout=600)
    assert run.returncode == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"error: --database-url: postgres://{role}:****@127.0.0.1:{port}/{name} does not answer: ")
    assert "password authentication failed" in lines[0]
    assert lines[0].endswith("; its password needs percent-encoding in the URL and the project's settings do not "
                             "decode it (PostgreSQL accepts it decoded): decode it in the settings "
                             "(urllib.parse.unquote) or choose a password that needs no encoding")
    assert tree_digest(demo) == before
    for output in (checked.output, run.output):
        assert "PLANTED%40pc" not in output and "PLANTED@pc" not in output and "PLANTEDadmin" not in output
