"""Database chores (remediation/dbadmin.py) in the target project's interpreter, under both
PostgreSQL drivers: psycopg 3 (the test venv) and psycopg2 (the demo venv, what users install)."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from conftest import POSTGRES

from remediation.fixes.database import admin_url
from remediation.manage import dbadmin
from remediation.transport import Local

DRIVER = {"psycopg": "psycopg 3", "psycopg2": "psycopg2 2"}


def psql(sql: str) -> str:
    done = subprocess.run(["psql", "-h", POSTGRES["host"], "-U", POSTGRES["user"], "-d", "postgres", "-tAc", sql],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def new_role_and_db(postgres_db):
    """Names of a role and a database that do not exist yet; both dropped afterwards."""
    role, name = f"remediation_r_{uuid.uuid4().hex[:8]}", f"{postgres_db}_created"
    yield role, name
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'DROP ROLE IF EXISTS "{role}"')


def test_create_role_and_database(driver_python, request, new_role_and_db):
    role, name = new_role_and_db
    url = f"postgres://{role}:PLANTED%40pass'word@127.0.0.1:5432/{name}"
    config = {"url": url, "admin_url": admin_url(url)}
    seen = dbadmin(Local(), driver_python, {**config, "action": "inspect"})
    assert seen == {"role_exists": False, "db_exists": False, "created": [], "driver": seen["driver"]}
    assert seen["driver"].startswith(DRIVER[request.node.callspec.params["driver_python"]])
    assert psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "0", "inspect creates nothing"

    done = dbadmin(Local(), driver_python, {**config, "action": "create"})
    assert "error" not in done, done
    assert done["created"] == [f"role {role}", f"database {name}"]
    assert psql(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{name}'") == role
    assert psql(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'") == "t"

    again = dbadmin(Local(), driver_python, {**config, "action": "create"})
    assert again["created"] == [] and again["role_exists"] and again["db_exists"]


def test_count_rows_and_missing_tables(driver_python, postgres_db):
    url = f"postgres://postgres@127.0.0.1:5432/{postgres_db}"
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", postgres_db, "-qc",
                    'CREATE TABLE "odd ""name" (x int); INSERT INTO "odd ""name" VALUES (1), (2), (3)'],
                   check=True, capture_output=True)
    found = dbadmin(Local(), driver_python, {"action": "count", "url": url, "tables": ['odd "name', "absent"]})
    assert found["counts"] == {'odd "name': 3, "absent": None}


def test_an_error_is_one_line_without_the_password(driver_python):
    url = "postgres://someone:PLANTEDsecret@127.0.0.1:1/nothing"
    found = dbadmin(Local(), driver_python, {"action": "create", "url": url, "admin_url": admin_url(url)})
    assert found["error"].startswith("OperationalError: ") and "\n" not in found["error"]
    assert "PLANTEDsecret" not in found["error"]
