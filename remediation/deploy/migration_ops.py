"""The migrations a new release would apply, described operation by operation, from the real database.

Runs in the NEW release's interpreter (its Django, its migration files) against the database the
running release uses, the way ``migrate`` would: ``MigrationExecutor(connection).migration_plan``
with the graph's leaf nodes as targets, so only unapplied migrations appear, in ``migrate``'s order.
Each operation is described with what remediation/deploy/miglint.py needs, read from Django itself:
the field before and after (``db_type(connection)`` of the from-state and to-state fields, null,
defaults), the tables, whether reverse code exists. No migration is applied, nothing is written:
SQLite is opened read-only, as the probe does.

It travels as source over stdin (``source()``), joined like the probe (remediation/probe/__init__.py)
with the probe's own parts it reuses: masking, error_info, the database connection with its
timeout and read-only SQLite, the loading-error placement. The result is one JSON document, scrubbed
of every secret the script knows; a failure is one ``{"type", "message"}`` line, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

from ..masking import scrub, secret_values
from ..probe.common import error_info, is_loading_error, settings_module_from_manage
from ..probe.database import database_facts, loading_error
from ..probe.migration_plan import migration_file

OPS_MARKER = "@@REMEDIATION-MIGRATION-OPS@@"
SQL_KEPT = 4000  # characters of each RunSQL statement kept for the linter


class OpsSession:
    """What the probe's database_facts expects of its caller."""

    def __init__(self, config: dict):
        self.config = config
        self.root = os.path.abspath(config["manage_dir"])
        self.secrets: set[str] = set()
        self.db_usable = False


class UnreadableMigration(Exception):
    """A migration whose operations cannot be applied to the project state (named in the message)."""

    where: str | None = None


def field_facts(field, connection) -> dict:
    from django.db.models.fields import NOT_PROVIDED

    facts = {"column": getattr(field, "column", None), "null": bool(field.null), "default": field.has_default(),
             "db_default": getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED,
             "unique": bool(field.unique), "db_index": bool(field.db_index),
             "many_to_many": bool(field.many_to_many), "db_type": None}
    try:
        facts["db_type"] = field.db_type(connection)
    except Exception as exc:  # fail closed: the linter treats an unknown type as unknown
        facts["db_type_error"] = f"{type(exc).__name__}: {exc}"[:300]
    return facts


def state_model(state, app: str, name: str):
    return state.apps.get_model(app, name)


def state_field(state, app: str, model: str, name: str, connection) -> dict:
    return field_facts(state_model(state, app, model)._meta.get_field(name), connection)


def sql_statements(sql) -> list[str]:
    """RunSQL's ``sql``: a string, or a list of strings or (sql, params) pairs."""
    items = [sql] if isinstance(sql, str) else list(sql or [])
    return [str(item[0] if isinstance(item, (list, tuple)) else item)[:SQL_KEPT] for item in items]


def describe_operation(app: str, op, state, connection, created: set) -> dict:
    """The operation's facts; applies it to ``state`` (as ``migrate`` would), facts read before and after."""
    kind = type(op).__name__
    model = getattr(op, "model_name", None) or getattr(op, "name", None)
    entry = {"type": kind, "module": type(op).__module__, "model": model,
             "reversible": bool(getattr(op, "reversible", False))}
    try:
        entry["description"] = str(op.describe())
    except Exception:
        entry["description"] = kind
    django_bases = [c.__name__ for c in type(op).__mro__ if c.__module__.startswith("django.")]
    entry["django_base"] = django_bases[0] if django_bases else None
    new_table = (app, str(model or "").lower()) in created
    if kind == "SeparateDatabaseAndState":
        inner = state.clone()
        entry["database_operations"] = [describe_operation(app, db_op, inner, connection, set(created))
                                        for db_op in op.database_operations]
        op.state_forwards(app, state)
        return entry
    before = after = None
    if kind in ("RemoveField", "AlterField", "RenameField"):
        before = state_field(state, app, model, getattr(op, "old_name", None) or op.name, connection)
    elif kind in ("DeleteModel", "RenameModel", "AlterModelTable"):
        old = state_model(state, app, getattr(op, "old_name", None) or op.name)._meta
        before = {"table": old.db_table, "managed": old.managed, "proxy": old.proxy}
    elif kind in ("AlterUniqueTogether", "AlterIndexTogether"):
        before = {"together": sorted(list(t) for t in state.models[(app, op.name_lower)].options.get(op.option_name) or ())}
    op.state_forwards(app, state)
    if kind in ("AddField", "AlterField", "RenameField"):
        after = state_field(state, app, model, getattr(op, "new_name", None) or op.name, connection)
    elif kind in ("RenameModel", "AlterModelTable"):
        after = {"table": state_model(state, app, getattr(op, "new_name", None) or op.name)._meta.db_table}
    elif kind in ("AlterUniqueTogether", "AlterIndexTogether"):
        after = {"together": sorted(list(t) for t in state.models[(app, op.name_lower)].options.get(op.option_name) or ())}
    entry.update({"from": before, "to": after, "new_table": new_table})
    if kind in ("RemoveField", "AddField", "AlterField", "RenameField"):
        entry["name"] = getattr(op, "new_name", None) or op.name
        entry["old_name"] = getattr(op, "old_name", None)
    if kind in ("AddIndex", "AddIndexConcurrently", "RemoveIndex", "RemoveIndexConcurrently", "AddConstraint",
                "AddConstraintNotValid", "AlterUniqueTogether", "AlterIndexTogether"):
        entry["table"] = state_model(state, app, model)._meta.db_table
        thing = getattr(op, "index", None) or getattr(op, "constraint", None)
        entry["name"] = getattr(thing, "name", None) or getattr(op, "name", None)
        if thing is not None:
            entry["fields"] = list(getattr(thing, "fields", ()) or ())
            entry["constraint"] = type(thing).__name__
    if kind == "CreateModel":
        created.add((app, op.name_lower))
    elif kind == "RenameModel" and new_table:
        created.add((app, op.new_name_lower))
    elif kind == "RunPython":
        entry["reverse_code"] = op.reverse_code is not None
    elif kind == "RunSQL":
        entry["reverse_sql"] = op.reverse_sql is not None
        entry["sql"] = sql_statements(op.sql)
    return entry


def describe_plan(executor, connection, root: str) -> list[dict]:
    """Every unapplied migration of ``migrate``'s plan, each from the project state before it."""
    loader = executor.loader
    plan = executor.migration_plan(loader.graph.leaf_nodes())
    created: set = set()
    described = []
    for migration, backwards in plan:
        node = (migration.app_label, migration.name)
        try:
            state = loader.project_state(node, at_end=False)
            state.apps  # rendered once; each operation's state_forwards keeps it current
            operations = [describe_operation(migration.app_label, op, state, connection, created)
                          for op in migration.operations]
        except Exception as exc:  # the migration cannot be applied even in memory: migrate would fail too
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            error = UnreadableMigration(f"{node[0]}.{node[1]}: {type(exc).__name__}: {text}"[:500])
            error.where = migration_file(migration, root)
            raise error from exc
        described.append({"app": node[0], "name": node[1], "backwards": bool(backwards), "operations": operations})
    return described


def one_line(exc: BaseException, root: str) -> dict:
    info = error_info(exc, root)
    where = f" ({info['where']})" if info.get("where") else ""
    return {"type": info["type"], "message": f"{info['message']}{where}"}


def read_plan(session: OpsSession) -> dict:
    """Settings, database, migration graph, plan: the first that fails is the error."""
    result: dict = {"plan": [], "error": None, "vendor": None}
    os.chdir(session.root)
    sys.path.insert(0, session.root)
    sys.argv = [os.path.join(session.root, "manage.py"), "migrate"]
    for key, value in (session.config.get("env") or {}).items():
        os.environ[key] = value
    module = (session.config.get("settings") or os.environ.get("DJANGO_SETTINGS_MODULE")
              or settings_module_from_manage(os.path.join(session.root, "manage.py")))
    if module:
        os.environ["DJANGO_SETTINGS_MODULE"] = module
    session.secrets |= secret_values(os.environ)
    try:
        import django
        from django.conf import settings

        django.setup()
    except BaseException as exc:  # settings may raise anything, even SystemExit
        result["error"] = one_line(exc, session.root)
        return result
    session.secrets.add(str(getattr(settings, "SECRET_KEY", "") or ""))
    session.secrets |= {str(db.get("PASSWORD") or "") for db in settings.DATABASES.values()}
    database = database_facts(session)
    result["vendor"] = database.get("vendor")
    if not database.get("configured"):
        result["error"] = {"type": "ImproperlyConfigured", "message": "no default database is configured"}
        return result
    if not session.db_usable:
        result["error"] = {"type": "DatabaseError", "message": database.get("error") or "the database does not answer"}
        return result
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections["default"]
    try:
        executor = MigrationExecutor(connection)
        conflicts = executor.loader.detect_conflicts()
        if conflicts:
            names = "; ".join(f"{app}: {', '.join(sorted(found))}" for app, found in sorted(conflicts.items()))
            result["error"] = {"type": "ConflictingMigrations", "message": f"conflicting migrations ({names}): makemigrations --merge"}
            return result
        result["plan"] = describe_plan(executor, connection, session.root)
    except UnreadableMigration as exc:
        result["error"] = {"type": "UnreadableMigration", "message": f"{exc} ({exc.where})" if exc.where else str(exc)}
    except Exception as exc:
        info = loading_error(exc, session.root) if is_loading_error(exc) else error_info(exc, session.root)
        where = f" ({info['where']})" if info.get("where") else ""
        result["error"] = {"type": info["type"], "message": f"{info['message']}{where}"}
    return result


def ops_main() -> int:
    config = json.loads(sys.stdin.readline())
    real_stdout = os.dup(1)
    sys.stdout.flush()
    sys.stderr.flush()
    captured = tempfile.TemporaryFile()  # the project's banners and logging, never shown
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    session = OpsSession(config)
    try:
        result = read_plan(session)
    except BaseException as exc:
        result = {"plan": [], "error": one_line(exc, session.root), "vendor": None}
    sys.stdout.flush()
    sys.stderr.flush()
    document = scrub(json.dumps(result, default=str), session.secrets)
    os.write(real_stdout, f"\n{OPS_MARKER}{document}\n".encode())
    return 0


# --- the controller's side ---------------------------------------------------------------------


def source() -> str:
    """This module joined after the probe parts it uses, as one standalone script."""
    from pathlib import Path

    from ..probe import HERE, strip_relative_imports

    parts = (HERE.parent / "masking.py", HERE / "common.py", HERE / "migration_plan.py", HERE / "database.py",
             Path(__file__))
    texts = [f"# --- {path.name} ---\n{strip_relative_imports(path.read_text(encoding='utf-8'))}" for path in parts]
    return "from __future__ import annotations\n" + "\n".join(texts)


def unapplied(transport, python: str, manage_dir: str, env: dict, timeout: float = 120,
              settings: str | None = None, connect_timeout: int = 5) -> dict:
    """The unapplied migrations of the release at ``manage_dir`` against the database ``env`` names.

    ``{"plan": [...], "vendor": "postgresql", "error": None | {"type", "message"}}``; a host or
    interpreter that cannot run the script is an error too (the gate then fails closed). A PostgreSQL
    server that accepts but does not answer is given ``connect_timeout`` seconds (libpq's minimum is 2)."""
    from ..transport import TransportError

    config = {"manage_dir": manage_dir, "env": dict(env or {}), "settings": settings, "timeout": connect_timeout}
    try:
        return transport.run_script(python, source(), config, OPS_MARKER, timeout=timeout)
    except (TransportError, ValueError) as exc:
        message = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", secret_values(env or {}))
        return {"plan": [], "vendor": None, "error": {"type": type(exc).__name__, "message": message}}


if __name__ == "__main__":
    ops_main()
