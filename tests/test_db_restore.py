"""Restores that make the database equal to the backup, and migrations rehearsed on a scratch copy.

Real PostgreSQL (127.0.0.1:5432, trust) and real SQLite, on temp copies of the demo: an empty
database, a partially migrated one, a migration that fails after others succeeded (the automatic
restore and ``rollback --database``), a migration that fails in rehearsal, Ctrl-C in a rehearsal,
and the PostgreSQL client programs missing from PATH.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, invoke, tree_digest


@pytest.fixture
def demo(lenient_demo):
    """fix-prod on the demo's SQLite without a PostgreSQL URL: the lenient demo (the bundled demo's
    settings refuse SQLite in production, so fix-prod stops there, by design)."""
    return lenient_demo


DOMAIN = "thebot.example.com"
EXPLODE = (
    "from django.db import migrations\n\n\n"
    "def explode(apps, schema_editor):\n"
    "    if {condition}:\n"
    "        raise RuntimeError('boom in data migration')\n\n\n"
    "class Migration(migrations.Migration):\n"
    "    dependencies = [('invoices', '0005_fix_enrollment_reference')]\n"
    "    operations = [migrations.RunPython(explode)]\n"
)


def pg(dbname="postgres"):
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=dbname, autocommit=True)


def pg_state(dbname):
    """Tables and django_migrations rows, as a person would check them with psql."""
    with pg(dbname) as conn:
        tables = sorted(r[0] for r in conn.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"))
        rows = []
        if "public.django_migrations" in tables:
            rows = sorted(conn.execute("SELECT app, name FROM django_migrations").fetchall())
        return tables, rows


def scratch_databases(dbname):
    with pg() as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (dbname[:36] + "\\_%",))]


def manage(project, url, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DATABASE_URL"] = url
    subprocess.run([sys.executable, "manage.py", *args], cwd=project / "backend", env=env, check=True,
                   capture_output=True, text=True, timeout=300)


def fix_prod(project, *args):
    run = invoke("fix-prod", "--project", str(project), "--format", "json", "--domain", DOMAIN, *args, timeout=600)
    document = json.loads(run.stdout) if run.stdout.strip().startswith("{") else None
    return run, document


def fixes(document):
    return {f["name"]: f for f in document["hosts"][0]["fixes"]}


@pytest.fixture
def pg_url(postgres_db):
    return f"postgres://postgres@127.0.0.1:5432/{postgres_db}"


@pytest.fixture(scope="session")
def psycopg2_python(request, tmp_path_factory):
    """An interpreter whose only PostgreSQL driver is psycopg2, as with the demo extra: the shared
    ``demo_python`` venv when the suite has it, else this venv (psycopg 3 hidden by a .pth line)."""
    try:
        return str(request.getfixturevalue("demo_python"))
    except pytest.FixtureLookupError:
        pass
    venv = tmp_path_factory.mktemp("psycopg2-only") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "psycopg2-binary>=2.9"], check=True, timeout=900)
    site = subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    (Path(site) / "zz_no_psycopg3.pth").write_text('import sys; sys.modules["psycopg"] = None\n')
    return python


@pytest.fixture(params=["psycopg", "psycopg2"])
def driver_python(request):
    """The project's interpreter, once with each PostgreSQL driver."""
    python = sys.executable if request.param == "psycopg" else request.getfixturevalue("psycopg2_python")
    found = subprocess.run([python, "-c", "import django.db.backends.postgresql.base as b; print(b.is_psycopg3)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert found == str(request.param == "psycopg")
    return python


# --- rollback --database --------------------------------------------------------------------------


def test_rollback_of_an_empty_database_leaves_it_empty(demo, postgres_db, pg_url, driver_python):
    run, document = fix_prod(demo, "--database-url", pg_url, "--python", driver_python)
    assert fixes(document)["migrate"]["status"] == "changed", run.stdout
    assert len(pg_state(postgres_db)[0]) > 15
    rolled = invoke("rollback", "--project", str(demo), "--database", timeout=300)
    assert rolled.returncode == 0, rolled.stderr
    assert pg_state(postgres_db) == ([], [])
    assert "(verified: 0 table(s) and 0 applied migration(s) as in the backup)" in rolled.stdout
    assert scratch_databases(postgres_db) == []
    assert "Traceback" not in rolled.output


def test_rollback_of_a_partially_migrated_database_closes_the_app_sessions(demo, postgres_db, pg_url, driver_python):
    import psycopg

    manage(demo, pg_url, "migrate", "auth", "--noinput")
    before = pg_state(postgres_db)
    assert before[1] and len(before[0]) < 10
    run, document = fix_prod(demo, "--database-url", pg_url, "--python", driver_python)
    assert fixes(document)["migrate"]["status"] == "changed", run.stdout
    assert pg_state(postgres_db) != before
    app = pg(postgres_db)  # an app's idle session on the database
    rolled = invoke("rollback", "--project", str(demo), "--database", timeout=300)
    assert rolled.returncode == 0, rolled.stderr
    assert pg_state(postgres_db) == before
    assert "as in the backup; 1 session(s) of the app closed)" in rolled.stdout
    with pytest.raises(psycopg.OperationalError):
        app.execute("SELECT 1")
    assert scratch_databases(postgres_db) == []


# --- the automatic restore after a failed migration ------------------------------------------------


def test_failed_migration_after_successful_ones_restores_exactly(demo, postgres_db, pg_url, driver_python):
    manage(demo, pg_url, "migrate", "auth", "--noinput")
    before = pg_state(postgres_db)
    # Fails on the real database only: the rehearsal on the scratch copy passes.
    explode = demo / "backend" / "invoices" / "migrations" / "0006_explode.py"
    explode.write_text(EXPLODE.format(condition=f"schema_editor.connection.settings_dict['NAME'] == {postgres_db!r}"))
    run, document = fix_prod(demo, "--database-url", pg_url, "--python", driver_python)
    migrate = fixes(document)["migrate"]
    assert run.returncode == 1
    assert migrate["status"] == "failed"
    assert migrate["message"].startswith("migration invoices.0006_explode failed: RuntimeError: boom in data migration; "
                                         "database restored from the backup (verified: ")
    assert pg_state(postgres_db) == before, "the tables of the migrations that succeeded must be gone too"
    assert scratch_databases(postgres_db) == []
    assert "Traceback" not in run.output
    explode.unlink()
    again, document = fix_prod(demo, "--database-url", pg_url, "--python", driver_python)
    assert fixes(document)["migrate"]["status"] == "changed", fixes(document)["migrate"]["message"]


# --- rehearsal ------------------------------------------------------------------------------------


def test_failing_rehearsal_stops_before_the_real_database(demo, postgres_db, pg_url):
    manage(demo, pg_url, "migrate", "auth", "--noinput")
    before = pg_state(postgres_db)
    (demo / "backend" / "invoices" / "migrations" / "0006_explode.py").write_text(EXPLODE.format(condition="True"))
    run, document = fix_prod(demo, "--database-url", pg_url)
    migrate = fixes(document)["migrate"]
    assert migrate == {**migrate, "status": "failed", "message": (
        "rehearsal on a copy: migration invoices.0006_explode failed: RuntimeError: boom in data migration; "
        "the real database was not touched")}
    assert pg_state(postgres_db) == before
    assert scratch_databases(postgres_db) == []
    assert [p.name for p in (demo / ".remediation" / "runs").glob("*/db/*")] == [f"{postgres_db}.dump"]


def test_rehearsal_on_postgres_then_migrate(demo, postgres_db, pg_url):
    run, document = fix_prod(demo, "--database-url", pg_url)
    migrate = fixes(document)["migrate"]["message"]
    assert migrate.startswith("applied ") and "; rehearsed " in migrate and migrate.endswith(f"; backup {postgres_db}.dump")
    applied = int(migrate.split()[1])
    assert f"rehearsed {applied} migration(s) on a copy" in migrate
    assert len(pg_state(postgres_db)[1]) == applied
    assert scratch_databases(postgres_db) == []


def test_ctrl_c_in_the_rehearsal_drops_the_scratch_database(demo, postgres_db, pg_url, tmp_path):
    started = tmp_path / "rehearsal-started"
    (demo / "backend" / "invoices" / "migrations" / "0006_wait.py").write_text(
        "import pathlib, time\nfrom django.db import migrations\n\n\n"
        "def wait(apps, schema_editor):\n"
        f"    pathlib.Path({str(started)!r}).write_text(schema_editor.connection.settings_dict['NAME'])\n"
        "    time.sleep(120)\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('invoices', '0005_fix_enrollment_reference')]\n"
        "    operations = [migrations.RunPython(wait)]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    process = subprocess.Popen([sys.executable, "-m", "invoke", "fix-prod", "--project", str(demo), "--domain", DOMAIN,
                                "--database-url", pg_url], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not started.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the rehearsal never started"
            time.sleep(0.1)
        scratch = started.read_text()
        assert scratch != postgres_db and scratch in scratch_databases(postgres_db)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    assert scratch_databases(postgres_db) == []
    assert pg_state(postgres_db) == ([], []), "the real database was never touched"


# --- SQLite ---------------------------------------------------------------------------------------


def sqlite_state(project):
    with sqlite3.connect(project / "backend" / "db.sqlite3") as conn:
        tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"))
        return tables, sorted(conn.execute("SELECT app, name FROM django_migrations").fetchall())


def test_sqlite_failure_on_the_real_database_is_restored_and_verified(demo):
    before = sqlite_state(demo)
    (demo / "backend" / "invoices" / "migrations" / "0006_explode.py").write_text(
        EXPLODE.format(condition="'rehearsal-' not in str(schema_editor.connection.settings_dict['NAME'])"))
    run, document = fix_prod(demo)
    migrate = fixes(document)["migrate"]
    tables, rows = before
    assert migrate["message"] == (
        "migration invoices.0006_explode failed: RuntimeError: boom in data migration; database restored from the "
        f"backup (verified: {len([t for t in tables if not t.startswith('sqlite_')])} table(s) and {len(rows)} applied "
        "migration(s) as in the backup)")
    assert sqlite_state(demo) == before
    assert [p.name for p in (demo / ".remediation" / "runs").glob("*/db/*")] == ["db.sqlite3"]


def test_no_backup_rehearses_on_a_temporary_copy(demo):
    run, document = fix_prod(demo, "--no-backup")
    assert fixes(document)["migrate"]["message"].startswith("applied ")
    assert "; rehearsed " in fixes(document)["migrate"]["message"]
    assert not list((demo / ".remediation" / "runs").glob("*/db/*"))


# --- the tools a plan needs -----------------------------------------------------------------------


def test_missing_pg_tools_stop_the_run_before_anything_is_written(demo, postgres_db, pg_url, tmp_path):
    path = tmp_path / "bin"
    path.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if not name.startswith("pg_") and not (path / name).exists():
                    (path / name).symlink_to(os.path.join(folder, name))
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--database-url", pg_url,
                 env={"PATH": str(path)}, timeout=300)
    assert run.returncode == 2, run.output
    assert run.stderr.strip() == ("error: localhost: pg_dump and pg_restore not found on the PATH; the database backup "
                                  "and the migration rehearsal need the PostgreSQL client programs (or pass --no-backup "
                                  "--no-rehearsal)")
    assert tree_digest(demo) == before
    assert pg_state(postgres_db) == ([], [])


# --- an app role that may not create databases -----------------------------------------------------


@pytest.fixture
def app_database(postgres_db):
    """A database owned by a role without CREATEDB, with a password (planted: it must never show)."""
    role, name = f"{postgres_db}_role", f"{postgres_db}_app"
    with pg() as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'PLANTED-restore-pw'")
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
        conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
        conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO "{role}"')
        conn.execute(f'ALTER DATABASE "{name}" SET statement_timeout = \'17s\'')
    try:
        yield role, name, f"postgres://{role}:PLANTED-restore-pw@127.0.0.1:5432/{name}"
    finally:
        with pg() as conn:
            for leftover in scratch_databases(name) + [name]:
                conn.execute(f'DROP DATABASE IF EXISTS "{leftover}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def database_properties(name):
    with pg() as conn:
        return conn.execute(
            "SELECT pg_get_userbyid(d.datdba), d.datacl::text, d.datallowconn, "
            "(SELECT s.setconfig::text FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0) "
            "FROM pg_database d WHERE d.datname = %s", (name,)).fetchone()


def test_restore_keeps_owner_acl_and_settings_of_an_app_role(demo, app_database):
    role, name, url = app_database
    properties = database_properties(name)
    assert properties[0] == role and "statement_timeout=17s" in properties[3]
    run, document = fix_prod(demo, "--database-url", url)
    assert fixes(document)["migrate"]["status"] == "changed", run.stdout
    with pg(name) as conn:
        assert conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'django_migrations'").fetchone() == (role,)
    rolled = invoke("rollback", "--project", str(demo), "--database", timeout=300)
    assert rolled.returncode == 0, rolled.stderr
    assert pg_state(name) == ([], [])
    assert database_properties(name) == properties
    assert scratch_databases(name) == []
    for output in (run.output, rolled.output, json.dumps(document)):
        assert "PLANTED-restore-pw" not in output and "PLANTED-restore-pw".replace("-", "%2D") not in output


def test_rollback_with_its_backup_gone_says_so_in_one_line(demo):
    fix_prod(demo)
    [backup] = (demo / ".remediation" / "runs").glob("*/db/db.sqlite3")
    backup.unlink()
    rolled = invoke("rollback", "--project", str(demo), "--database", timeout=300)
    assert rolled.returncode == 1
    assert rolled.stdout == ""
    assert rolled.stderr == f"error: restoring db.sqlite3 failed: the backup {backup} does not exist\n"
