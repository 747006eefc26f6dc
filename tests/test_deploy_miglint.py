"""The migration gate against real migrations: a chain of migration files written into a copy of the
demo, the database migrated to a point, and the unapplied rest read by migration_ops in the
project's interpreter (SQLite; PostgreSQL with the demo venv), then linted with exact rule ids.
A planted password must never show; a broken project is one line, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from urllib.parse import quote

import pytest
from conftest import POSTGRES, copy_demo, throwaway_database, tree_digest

from remediation.deploy import miglint
from remediation.deploy.migration_ops import unapplied
from remediation.transport import Local

PASSWORD = "Pl4nted/pw#s3cret"  # trust auth ignores it; it must never be printed
MIGRATION = """import django.db.models.deletion
from django.db import migrations, models


def forwards(apps, schema_editor):
    pass


class LoggedAddField(migrations.AddField):
    pass


class Noop(migrations.operations.base.Operation):
    reversible = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass


class Migration(migrations.Migration):
    dependencies = [('assignments', '{previous}')]
    operations = [
        {operations}
    ]
"""
SUB = "'assignmentsubmission'"
# name -> (operations, rules on SQLite, rules on PostgreSQL)
CHAIN = {
    "0002_safe_fields": ([
        "migrations.AddField('assignment', 'note', models.TextField(null=True, blank=True))",
        "migrations.AddField('assignment', 'weight', models.IntegerField(db_default=1))",
        "migrations.AlterField('assignment', 'instructions', models.TextField(blank=True, null=True))",
        "migrations.AlterField('assignment', 'title', models.CharField(max_length=300))",
        "migrations.AlterField('assignment', 'status', models.CharField(max_length=20, default='draft', "
        "help_text='where it stands', choices=[('draft', 'Draft'), ('closed', 'Closed')]))",
        "migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField('assignment', 'note')])",
        "migrations.RunPython(forwards, migrations.RunPython.noop)",
        "migrations.RunSQL('SELECT 1', reverse_sql='SELECT 1')",
    ], [], []),
    "0003_submission_grade": ([f"migrations.AddField({SUB}, 'grade', models.IntegerField())"],
                              ["add-not-null-column"], ["add-not-null-column"]),
    "0004_submission_attempt": ([f"migrations.AddField({SUB}, 'attempt', models.IntegerField(default=1))"],
                                ["add-not-null-column"], ["add-not-null-column"]),
    "0005_drop_grade": ([f"migrations.RemoveField({SUB}, 'grade')"], ["drop-column"], ["drop-column"]),
    "0006_rename_feedback": ([f"migrations.RenameField({SUB}, 'feedback', 'comments')"],
                             ["rename-column"], ["rename-column"]),
    "0007_score_text": ([f"migrations.AlterField({SUB}, 'score', models.CharField(max_length=10, null=True, blank=True))"],
                        ["change-column-type"], ["change-column-type"]),
    "0008_publish_required": (["migrations.AlterField('assignment', 'publish_at', models.DateTimeField())"],
                              ["set-not-null"], ["set-not-null"]),
    "0009_backfill": (["migrations.RunPython(forwards)"], ["runpython-irreversible"], ["runpython-irreversible"]),
    "0010_sql": (["migrations.RunSQL('UPDATE assignments_assignment SET max_score = 100')",
                  "migrations.RunSQL('ALTER TABLE assignments_assignment DROP COLUMN instructions', "
                  "reverse_sql='SELECT 1')"],
                 ["runsql-irreversible", "drop-column"], ["runsql-irreversible", "drop-column"]),
    "0011_due_index": (["migrations.AddIndex('assignment', models.Index(fields=['due_date'], name='assignment_due_idx'))"],
                       [], ["non-concurrent-index"]),
    "0012_unique_title": (["migrations.AlterUniqueTogether('assignment', {('title', 'author')})"],
                          ["add-unique"], ["add-unique"]),
    "0013_rubric": (["migrations.CreateModel('Rubric', fields=[('id', models.BigAutoField(primary_key=True)), "
                     "('assignment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, "
                     "to='assignments.assignment'))])",
                     "migrations.AddField('rubric', 'points', models.IntegerField())",
                     "migrations.AddIndex('rubric', models.Index(fields=['points'], name='rubric_points_idx'))"], [], []),
    "0014_rename_assignment": (["migrations.RenameModel('Assignment', 'Task')"], ["rename-table"], ["rename-table"]),
    "0015_drop_submission": (["migrations.DeleteModel('AssignmentSubmission')"], ["drop-table"], ["drop-table"]),
    "0016_third_party": (["Noop()", "LoggedAddField('rubric', 'weight', models.IntegerField(null=True))"],
                         ["unknown-operation", "unknown-operation"], ["unknown-operation", "unknown-operation"]),
}


def write_chain(project, upto: str | None = None) -> None:
    previous = "0001_initial"
    folder = project / "backend" / "assignments" / "migrations"
    for name, (operations, _sqlite, _pg) in CHAIN.items():
        (folder / f"{name}.py").write_text(MIGRATION.replace("{previous}", previous).replace(
            "{operations}", ",\n        ".join(operations)))
        previous = name
        if name == upto:
            return


def manage(project, python: str, env: dict, *args: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    done = subprocess.run([python, "manage.py", *args], cwd=project / "backend", env={**environ, **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def rules_by_migration(result: dict) -> dict:
    issues = miglint.lint(result["plan"], result["vendor"])
    found = {f"{m['app']}.{m['name']}": [] for m in result["plan"]}
    for issue in issues:
        found[issue.migration].append(issue.rule)
    return found


def expected(column: int, start: str) -> dict:
    names = list(CHAIN)
    return {f"assignments.{name}": CHAIN[name][column] for name in names[names.index(start):]}


@pytest.fixture(scope="module")
def sqlite_project(tmp_path_factory):
    """The demo as shipped (two invoice migrations unapplied); migrate_to(...) migrates it on."""
    return copy_demo(tmp_path_factory.mktemp("miglint") / "thebot")


def plan_of(project, env=None, python=sys.executable) -> dict:
    return unapplied(Local(), python, str(project / "backend"), env or {})


def test_the_demo_as_shipped_has_two_safe_migrations_to_apply(sqlite_project):
    before = tree_digest(sqlite_project)
    result = plan_of(sqlite_project)
    assert tree_digest(sqlite_project) == before  # read-only: no database write, no bytecode
    assert result["error"] is None and result["vendor"] == "sqlite"
    assert [(m["app"], m["name"]) for m in result["plan"]] == [
        ("invoices", "0004_remove_invoice_check_invoice_amount_positive"), ("invoices", "0005_fix_enrollment_reference")]
    alter = result["plan"][1]["operations"][0]
    assert (alter["type"], alter["from"]["db_type"], alter["to"]["db_type"]) == ("AlterField", "bigint", "bigint")
    assert (alter["from"]["null"], alter["to"]["null"]) == (True, True)
    assert result["plan"][1]["operations"][1]["reverse_code"] is True
    assert miglint.lint(result["plan"], "sqlite") == []
    assert miglint.review(result, allow_unsafe=False) == (True, [])


def test_sqlite_rules_per_migration_and_applied_ones_not_reported(sqlite_project):
    manage(sqlite_project, sys.executable, {}, "migrate", "--noinput", "-v0")
    write_chain(sqlite_project)
    manage(sqlite_project, sys.executable, {}, "migrate", "assignments", "0002", "--noinput", "-v0")
    result = plan_of(sqlite_project)
    assert result["error"] is None
    assert rules_by_migration(result) == expected(1, "0003_submission_grade")
    first = result["plan"][0]["operations"][0]
    assert (first["to"]["null"], first["to"]["default"], first["to"]["db_default"]) == (False, False, False)
    ok, lines = miglint.review(result, allow_unsafe=False)
    assert not ok
    assert lines[2] == ("refused: assignments.0005_drop_grade: RemoveField(assignmentsubmission.grade) drops column "
                        "grade the running release still reads (drop-column); --allow-unsafe-migrations to deploy anyway")
    assert lines[1] == (
        "refused: assignments.0004_submission_attempt: AddField(assignmentsubmission.attempt) adds NOT NULL column "
        "attempt and its default is Python-only (Django drops the column's DEFAULT after filling existing rows): "
        "the running release's INSERTs, which do not name it, fail (use db_default= or null=True) "
        "(add-not-null-column); --allow-unsafe-migrations to deploy anyway")
    assert "changes column score from integer unsigned to varchar(10)" in lines[4]
    allowed, lines = miglint.review(result, allow_unsafe=True)
    assert allowed and [line.split(":")[0] for line in lines] == ["allowed"] * 9 + ["warning"] + ["allowed"] * 4


@pytest.fixture(scope="module")
def pg_url():
    with throwaway_database("remediation_miglint") as name:
        yield f"postgres://postgres:{quote(PASSWORD, safe='')}@127.0.0.1:5432/{name}"


def test_postgresql_end_to_end_with_the_demo_interpreter(tmp_path, pg_url, demo_python):
    import psycopg

    project = copy_demo(tmp_path / "thebot")
    env = {"DATABASE_URL": pg_url}
    manage(project, demo_python, env, "migrate", "--noinput", "-v0")
    write_chain(project)
    manage(project, demo_python, env, "migrate", "assignments", "0002", "--noinput", "-v0")
    result = plan_of(project, env, demo_python)
    assert PASSWORD not in json.dumps(result) and quote(PASSWORD, safe="") not in json.dumps(result)
    assert result["error"] is None and result["vendor"] == "postgresql"
    assert rules_by_migration(result) == expected(2, "0003_submission_grade")
    [score] = [m["operations"][0] for m in result["plan"] if m["name"] == "0007_score_text"]
    assert (score["from"]["db_type"], score["to"]["db_type"]) == ("integer", "varchar(10)")
    warning = [line for line in miglint.review(result, allow_unsafe=False)[1] if line.startswith("warning: ")]
    assert warning == ["warning: assignments.0011_due_index: AddIndex(assignment.assignment_due_idx) creates an index "
                       "on assignments_assignment without CONCURRENTLY: writes to assignments_assignment wait until "
                       "it is built (reads go on) (non-concurrent-index)",
                       "warning: assignments.0012_unique_title: AlterUniqueTogether(assignment) adds unique (title, author) "
                       "on assignments_assignment: the running release's writes of a duplicate fail; writes wait while "
                       "PostgreSQL builds its index (add-unique)"]
    # What the rules claim, on the real database: deploy 0003-0004 (as --allow-unsafe-migrations would)
    # and write as the running release (at 0003) does, naming only the columns it knows.
    for name in list(CHAIN)[3:]:  # keep 0002-0004
        (project / "backend" / "assignments" / "migrations" / f"{name}.py").unlink()
    manage(project, demo_python, env, "migrate", "--noinput", "-v0")
    dbname = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(dbname=dbname, **POSTGRES) as conn:
        weight = conn.execute("INSERT INTO assignments_assignment (title, description, instructions, author_id, status,"
                              " max_score, due_date, created_at, updated_at) VALUES ('t', 'd', '', 1, 'draft', 1, now(),"
                              " now(), now()) RETURNING weight").fetchone()[0]
        assert weight == 1  # db_default: the old code's INSERT works
        conn.rollback()
        with pytest.raises(psycopg.errors.NotNullViolation, match='"attempt"'):
            conn.execute("INSERT INTO assignments_assignmentsubmission (assignment_id, student_id, content, file, "
                         "status, feedback, submitted_at, grade) VALUES (1, 1, '', '', 'submitted', '', now(), 5)")
        conn.rollback()
    assert list(plan_of(project, env, demo_python)["plan"]) == []


# --- bad input: one line, no traceback, no secret ---------------------------------------------------


def one_error(result: dict) -> dict:
    text = json.dumps(result)
    assert result["plan"] == [] and "Traceback" not in text and "\\n" not in json.dumps(result["error"])
    assert PASSWORD not in text and quote(PASSWORD, safe="") not in text
    return result["error"]


def test_settings_that_raise(demo):
    settings = demo / "backend" / "config" / "settings.py"
    text = settings.read_text() + "raise RuntimeError('refusing key ' + SECRET_KEY)\n"
    settings.write_text(text)
    error = one_error(plan_of(demo, {"SECRET_KEY": PASSWORD}))
    where = f"config/settings.py:{len(text.splitlines())}"
    assert error == {"type": "RuntimeError", "message": f"refusing key **** ({where})"}
    ok, lines = miglint.review({"plan": [], "error": error}, allow_unsafe=True)
    assert (ok, lines) == (False, [f"refused: the migration plan could not be read: RuntimeError: refusing key **** ({where})"])


def test_a_database_that_does_not_answer(demo):
    error = one_error(plan_of(demo, {"DATABASE_URL": f"postgres://postgres:{quote(PASSWORD, safe='')}@127.0.0.1:1/x"}))
    assert error == {"type": "DatabaseError", "message": "OperationalError: connection failed: connection to server at "
                                                         "\"127.0.0.1\", port 1 failed: Connection refused"}


def test_a_database_that_accepts_and_never_answers(demo):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts, never speaks
        url = f"postgres://postgres:{quote(PASSWORD, safe='')}@127.0.0.1:{silent.getsockname()[1]}/x"
        error = one_error(unapplied(Local(), sys.executable, str(demo / "backend"), {"DATABASE_URL": url},
                                    connect_timeout=2))
    assert error == {"type": "DatabaseError", "message": "OperationalError: connection timeout expired"}


def test_a_broken_migration_file(demo):
    (demo / "backend" / "assignments" / "migrations" / "0002_broken.py").write_text("from django.db import (\n")
    error = one_error(plan_of(demo))
    assert error["type"] == "SyntaxError" and error["message"].endswith("(assignments/migrations/0002_broken.py:1)")


def test_a_migration_that_cannot_be_applied_even_in_memory(demo):
    (demo / "backend" / "assignments" / "migrations" / "0002_gone.py").write_text(MIGRATION.replace(
        "{previous}", "0001_initial").replace("{operations}", "migrations.RemoveField('assignment', 'nothing')"))
    error = one_error(plan_of(demo))
    assert error == {"type": "UnreadableMigration",
                     "message": "assignments.0002_gone: FieldDoesNotExist: Assignment has no field named 'nothing' "
                                "(assignments/migrations/0002_gone.py)"}


def test_conflicting_migrations(demo):
    folder = demo / "backend" / "assignments" / "migrations"
    for name in ("0002_a", "0002_b"):
        (folder / f"{name}.py").write_text(MIGRATION.replace("{previous}", "0001_initial").replace("{operations}", ""))
    assert one_error(plan_of(demo)) == {"type": "ConflictingMigrations",
                                        "message": "conflicting migrations (assignments: 0002_a, 0002_b): "
                                                   "makemigrations --merge"}


def test_an_interpreter_that_does_not_exist(demo):
    error = one_error(unapplied(Local(), str(demo / "nope" / "python"), str(demo / "backend"), {}))
    assert error == {"type": "TransportError", "message": f"{demo / 'nope' / 'python'}: no such program"}


# --- the pure rules on facts Django reports ----------------------------------------------------


def field(db_type, **kw):
    return {"column": "c", "null": False, "default": False, "db_default": False, "unique": False, "db_index": False,
            "many_to_many": False, "db_type": db_type, **kw}


def op(kind, module="django.db.migrations.operations.fields", **kw):
    return {"type": kind, "module": module, "model": "m", "name": "c", **kw}


@pytest.mark.parametrize(("operation", "vendor", "rules"), [
    (op("AlterField", **{"from": field("varchar(100)"), "to": field("varchar(200)")}), "postgresql", []),
    (op("AlterField", **{"from": field("varchar(100)"), "to": field("text")}), "postgresql", []),
    (op("AlterField", **{"from": field("varchar(200)"), "to": field("varchar(100)")}), "postgresql", ["change-column-type"]),
    (op("AlterField", **{"from": field("integer"), "to": field("integer", db_column="x", column="x")}), "sqlite", ["rename-column"]),
    (op("AlterField", **{"from": field("integer"), "to": field("integer", db_index=True)}), "postgresql", ["non-concurrent-index"]),
    (op("AlterField", **{"from": field("integer"), "to": field("integer", unique=True)}), "sqlite", ["add-unique"]),
    (op("AlterField", **{"from": field("integer"), "to": field(None, db_type_error="x")}), "sqlite", ["unknown-operation"]),
    (op("AddField", to=field("integer", db_default=True)), "postgresql", []),
    (op("AddField", to=field("integer"), new_table=True), "postgresql", []),
    (op("AddField", to=field("bigint", null=True, db_index=True)), "postgresql", ["non-concurrent-index"]),
    (op("AddField", to=field(None, many_to_many=True)), "postgresql", []),
    (op("RemoveField", **{"from": field(None, many_to_many=True)}), "sqlite", ["drop-column"]),
    (op("RenameField", **{"from": field("integer"), "to": field("integer")}), "sqlite", []),  # same db_column
    (op("DeleteModel", **{"from": {"table": "t", "managed": False, "proxy": False}}), "sqlite", []),
    (op("RenameModel", **{"from": {"table": "t"}, "to": {"table": "t"}}), "sqlite", []),  # explicit db_table
    (op("AlterModelTable", **{"from": {"table": "t"}, "to": {"table": "u"}}), "sqlite", ["rename-table"]),
    (op("RemoveIndex", table="t"), "postgresql", ["non-concurrent-drop-index"]),
    (op("AddConstraint", table="t", constraint="CheckConstraint"), "postgresql", ["add-constraint"]),
    (op("AddConstraint", table="t", constraint="UniqueConstraint"), "sqlite", ["add-unique"]),
    (op("RunSQL", reverse_sql=True, sql=["ALTER TABLE t RENAME COLUMN a TO b", "CREATE INDEX i ON t (a)"]), "postgresql",
     ["rename-column", "non-concurrent-index"]),
    (op("RunSQL", reverse_sql=True, sql=["CREATE INDEX CONCURRENTLY i ON t (a)"]), "postgresql", []),
    (op("AddIndexConcurrently"), "postgresql", []),
    (op("AlterOrderWithRespectTo"), "postgresql", ["unknown-operation"]),
    (op("SeparateDatabaseAndState", database_operations=[op("RemoveField", **{"from": field("integer")})]), "sqlite",
     ["drop-column"]),
])
def test_rules(operation, vendor, rules):
    plan = [{"app": "a", "name": "0002_x", "operations": [operation]}]
    assert [issue.rule for issue in miglint.lint(plan, vendor)] == rules


def test_gate_lines():
    issues = [miglint.Issue("a.0002_x", "AddIndex(m.i)", "non-concurrent-index", "creates an index", False),
              miglint.Issue("a.0003_y", "RunPython", "runpython-irreversible", "has no reverse_code", True)]
    assert miglint.gate(issues, allow_unsafe=False) == (False, [
        "warning: a.0002_x: AddIndex(m.i) creates an index (non-concurrent-index)",
        "refused: a.0003_y: RunPython has no reverse_code (runpython-irreversible); --allow-unsafe-migrations to deploy anyway"])
    assert miglint.gate(issues[:1], allow_unsafe=False)[0] is True
    assert miglint.gate(issues, allow_unsafe=True)[1][1] == (
        "allowed: a.0003_y: RunPython has no reverse_code (runpython-irreversible); deploying anyway (--allow-unsafe-migrations)")
    assert set(miglint.RULES) >= {issue.rule for issue in issues}


# One worker runs this module, so its module-scoped set-up is built once (pytest runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("deploy-miglint")
