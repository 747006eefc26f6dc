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
