"""The migration gate: which unapplied migrations the running release cannot survive.

A deploy migrates once, before any host switches, so for a while the OLD code runs against the NEW
schema, and after an automatic rollback it runs against it for good (rollback leaves the database
migrated). Every rule below asks one question of an operation: does the old code still work after
it? Pure: it reads the plan remediation/deploy/migration_ops.py gathered from the real database.

The rules are anchored on django-migration-linter (3YOURMIND; codes NOT_NULL, DROP_COLUMN,
DROP_TABLE, RENAME_COLUMN, RENAME_TABLE, ALTER_COLUMN, ADD_UNIQUE, RUNPYTHON_REVERSIBLE,
RUNSQL_REVERSIBLE, CREATE_INDEX, DROP_INDEX) and squawk (ban-drop-column, ban-drop-table,
renaming-column, renaming-table, adding-required-field, changing-column-type,
adding-not-nullable-field, require-concurrent-index-creation, require-concurrent-index-deletion,
disallowed-unique-constraint, constraint-missing-not-valid). Those lint SQL text or files; this
works on Django's own operations and states, so it knows a field's column type before and after
and whether a table was created earlier in the same plan. Written here because neither runs
against the plan of a live database nor answers "can the running release survive this".

Decisions: a Python-only ``default=`` does not make an added NOT NULL column safe (Django adds
the column with the default, then drops the DEFAULT, so the old code's INSERTs fail: the same
conclusion as django-migration-linter's NOT_NULL); only ``db_default`` or ``null=True`` does.
Index and unique-constraint rules are warnings: the old code keeps working (writes wait while
PostgreSQL builds the index; a write that breaks a new unique rule fails, but the migration itself
fails on data that already breaks it, which the rehearsal catches). Unknown operations (third-party
or ones this gate does not analyse) count as unsafe: fail closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    unsafe: bool
    catches: str
    why: str
    anchor: str


RULES = {
    "drop-column": Rule(True, "RemoveField (and DROP COLUMN in RunSQL)",
                        "its SELECTs name every column of its models: they fail once one is gone",
                        "DROP_COLUMN / ban-drop-column"),
    "drop-table": Rule(True, "DeleteModel of a managed table (and DROP TABLE in RunSQL)",
                       "its queries of that model fail", "DROP_TABLE / ban-drop-table"),
    "rename-column": Rule(True, "RenameField, AlterField changing db_column (and RENAME COLUMN in RunSQL)",
                          "it reads and writes the old column name", "RENAME_COLUMN / renaming-column"),
    "rename-table": Rule(True, "RenameModel, AlterModelTable (and RENAME TO in RunSQL)",
                         "it queries the old table name", "RENAME_TABLE / renaming-table"),
    "add-not-null-column": Rule(True, "AddField, NOT NULL, on an existing table, without db_default",
                                "its INSERTs do not name the new column, which has no database default",
                                "NOT_NULL / adding-required-field"),
    "change-column-type": Rule(True, "AlterField whose column type changes (a wider varchar is fine)",
                               "it reads and writes values of the old type", "ALTER_COLUMN / changing-column-type"),
    "set-not-null": Rule(True, "AlterField null=True to null=False (and SET NOT NULL in RunSQL)",
                         "its model allows NULL, so it may still write NULL", "NOT_NULL / adding-not-nullable-field"),
    "runpython-irreversible": Rule(True, "RunPython without reverse_code",
                                   "the data change cannot be undone, and the gate cannot see what it changes",
                                   "RUNPYTHON_REVERSIBLE"),
    "runsql-irreversible": Rule(True, "RunSQL without reverse_sql",
                                "the change cannot be undone, and the gate sees only the patterns above in its SQL",
                                "RUNSQL_REVERSIBLE"),
    "unknown-operation": Rule(True, "an operation this gate does not analyse (third-party, AlterOrderWithRespectTo)",
                              "its effect is unknown: fail closed", "-"),
    "non-concurrent-index": Rule(False, "AddIndex, AlterField/AddField adding an index, on PostgreSQL (not CONCURRENTLY)",
                                 "survives: writes to the table wait while the index is built, reads go on",
                                 "CREATE_INDEX / require-concurrent-index-creation"),
    "non-concurrent-drop-index": Rule(False, "RemoveIndex on PostgreSQL (not CONCURRENTLY)",
                                      "survives: the table is locked briefly", "DROP_INDEX / require-concurrent-index-deletion"),
    "add-unique": Rule(False, "AlterUniqueTogether, AddConstraint(UniqueConstraint), AlterField adding unique=True",
                       "survives unless it writes a duplicate; PostgreSQL builds the index while writes wait",
                       "ADD_UNIQUE / disallowed-unique-constraint"),
    "add-constraint": Rule(False, "AddConstraint of a check constraint",
                           "survives unless it writes a row the constraint refuses", "constraint-missing-not-valid"),
}

# Django operations that change nothing the running release depends on.
SAFE = {"CreateModel", "AlterModelOptions", "AlterModelManagers", "AlterModelTableComment", "RemoveConstraint",
        "AlterConstraint", "RenameIndex", "AddIndexConcurrently", "RemoveIndexConcurrently", "ValidateConstraint",
        "CreateExtension", "BloomExtension", "BtreeGinExtension", "BtreeGistExtension", "CITextExtension",
        "CryptoExtension", "HStoreExtension", "TrigramExtension", "UnaccentExtension", "CreateCollation",
        "RemoveCollation"}
SQL_PATTERNS = (  # RunSQL text: the statements behind the rules above (django-migration-linter's regexes)
    ("drop-column", re.compile(r"\bDROP\s+COLUMN\b", re.I), "drops a column (DROP COLUMN)"),
    ("drop-table", re.compile(r"\bDROP\s+TABLE\b", re.I), "drops a table (DROP TABLE)"),
    ("rename-column", re.compile(r"\bRENAME\s+COLUMN\b", re.I), "renames a column (RENAME COLUMN)"),
    ("rename-table", re.compile(r"\bALTER\s+TABLE\b.*\bRENAME\s+TO\b", re.I | re.S), "renames a table (RENAME TO)"),
    ("change-column-type", re.compile(r"\bALTER\s+COLUMN\b.*\bTYPE\b", re.I | re.S), "changes a column type (ALTER COLUMN ... TYPE)"),
    ("set-not-null", re.compile(r"\bSET\s+NOT\s+NULL\b", re.I), "sets NOT NULL on a column (SET NOT NULL)"),
)
CREATE_INDEX = re.compile(r"\bCREATE\s+(UNIQUE\s+)?INDEX\b(?!\s+CONCURRENTLY)", re.I)
LOCKS = {"postgresql": "; writes wait while PostgreSQL builds its index"}
VARCHAR = re.compile(r"^(?:varchar|character varying)\((\d+)\)$", re.I)


@dataclass(frozen=True)
class Issue:
    migration: str  # "app.0002_name"
    operation: str  # "RemoveField(submission.grade)"
    rule: str
    message: str
    unsafe: bool


def label(op: dict) -> str:
    kind = op.get("type") or "?"
    name = op.get("old_name") or op.get("name")
    if kind in ("AddField", "RemoveField", "AlterField", "RenameField"):
        return f"{kind}({op.get('model')}.{name})"
    if kind in ("AddIndex", "RemoveIndex", "AddConstraint", "AddConstraintNotValid"):
        return f"{kind}({op.get('model')}.{name})"
    return f"{kind}({op['model']})" if op.get("model") else kind


def widened(old: str | None, new: str | None) -> bool:
    """varchar(n) to varchar(m >= n) or text: no rewrite on PostgreSQL, and every old value fits."""
    before = VARCHAR.match(old or "")
    if not before:
        return False
    after = VARCHAR.match(new or "")
    return (new or "").lower() == "text" or bool(after and int(after.group(1)) >= int(before.group(1)))


def index_added(old: dict, new: dict) -> bool:
    return not old.get("db_index") and new.get("db_index") and not new.get("unique")


def field_rules(kind: str, op: dict, vendor: str) -> list[tuple[str, str]]:
    old, new = op.get("from") or {}, op.get("to") or {}
    found: list[tuple[str, str]] = []
    if kind == "RemoveField" and not op.get("new_table"):
        what = "drops the join table" if old.get("many_to_many") else f"drops column {old.get('column')}"
        found.append(("drop-column", f"{what} the running release still reads"))
    elif kind == "RenameField" and old.get("column") != new.get("column"):
        found.append(("rename-column", f"renames column {old.get('column')} to {new.get('column')}; "
                                       "the running release still uses the old name"))
    elif kind == "AddField" and not op.get("new_table") and not new.get("many_to_many"):
        if not new.get("null") and not new.get("db_default"):
            how = ("its default is Python-only (Django drops the column's DEFAULT after filling existing rows)"
                   if new.get("default") else "it has no default")
            found.append(("add-not-null-column", f"adds NOT NULL column {new.get('column')} and {how}: the running "
                                                 "release's INSERTs, which do not name it, fail (use db_default= or null=True)"))
        if vendor == "postgresql" and (new.get("db_index") or new.get("unique")):
            found.append(("non-concurrent-index", f"indexes the new column {new.get('column')} without CONCURRENTLY: "
                                                  "writes to the table wait until the index is built"))
    elif kind == "AlterField" and not op.get("new_table") and not new.get("many_to_many"):
        if old.get("column") != new.get("column"):
            found.append(("rename-column", f"renames column {old.get('column')} to {new.get('column')} (db_column); "
                                           "the running release still uses the old name"))
        if old.get("db_type") is None or new.get("db_type") is None:
            found.append(("unknown-operation", "changes a field whose column type could not be read: "
                                               f"{old.get('db_type_error') or new.get('db_type_error') or 'no type'}"))
        elif old["db_type"] != new["db_type"] and not widened(old["db_type"], new["db_type"]):
            found.append(("change-column-type", f"changes column {new.get('column')} from {old['db_type']} to "
                                                f"{new['db_type']}; the running release reads and writes the old type"))
        if old.get("null") and not new.get("null"):
            found.append(("set-not-null", f"makes column {new.get('column')} NOT NULL; the running release's model "
                                          "allows NULL and may still write it"))
        if new.get("unique") and not old.get("unique"):
            found.append(("add-unique", f"makes column {new.get('column')} unique: the running release's writes of "
                                        "a duplicate fail" + LOCKS.get(vendor, "")))
        elif vendor == "postgresql" and index_added(old, new):
            found.append(("non-concurrent-index", f"indexes column {new.get('column')} without CONCURRENTLY: "
                                                  "writes to the table wait until the index is built"))
    return found


def model_rules(kind: str, op: dict, vendor: str) -> list[tuple[str, str]]:
    old, new = op.get("from") or {}, op.get("to") or {}
    table = op.get("table")
    if kind == "DeleteModel":
        if op.get("new_table") or old.get("proxy") or not old.get("managed", True):
            return []
        return [("drop-table", f"drops table {old.get('table')} the running release still reads")]
    if kind in ("RenameModel", "AlterModelTable"):
        if op.get("new_table") or old.get("table") == new.get("table"):
            return []
        return [("rename-table", f"renames table {old.get('table')} to {new.get('table')}; "
                                 "the running release still uses the old name")]
    if kind in ("AddIndex", "AlterIndexTogether") and vendor == "postgresql" and not op.get("new_table"):
        if kind == "AlterIndexTogether" and not added_sets(op):
            return []
        return [("non-concurrent-index", f"creates an index on {table} without CONCURRENTLY: writes to {table} "
                                         "wait until it is built (reads go on)")]
    if kind == "RemoveIndex" and vendor == "postgresql":
        return [("non-concurrent-drop-index", f"drops index {op.get('name')} on {table} without CONCURRENTLY: "
                                              f"{table} is locked while it is dropped")]
    if kind == "AlterUniqueTogether" and added_sets(op) and not op.get("new_table"):
        fields = ", ".join("(" + ", ".join(s) + ")" for s in added_sets(op))
        return [("add-unique", f"adds unique {fields} on {table}: the running release's writes of a duplicate fail"
                               + LOCKS.get(vendor, ""))]
    if kind in ("AddConstraint", "AddConstraintNotValid") and not op.get("new_table"):
        if op.get("constraint") == "UniqueConstraint":
            return [("add-unique", f"adds unique constraint {op.get('name')} on {table}: the running release's "
                                   "writes of a duplicate fail" + LOCKS.get(vendor, ""))]
        return [("add-constraint", f"adds constraint {op.get('name')} on {table}: the running release's writes "
                                   "that break it fail")]
    return []


def added_sets(op: dict) -> list[list[str]]:
    old = [list(s) for s in (op.get("from") or {}).get("together") or []]
    return [list(s) for s in (op.get("to") or {}).get("together") or [] if list(s) not in old]


def code_rules(kind: str, op: dict, vendor: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if kind == "RunPython" and not op.get("reverse_code"):
        found.append(("runpython-irreversible", "has no reverse_code: the data change cannot be undone"))
    if kind == "RunSQL":
        if not op.get("reverse_sql"):
            found.append(("runsql-irreversible", "has no reverse_sql: the change cannot be undone"))
        text = "\n".join(op.get("sql") or [])
        found += [(rule, f"runs SQL that {what}") for rule, pattern, what in SQL_PATTERNS if pattern.search(text)]
        if vendor == "postgresql" and CREATE_INDEX.search(text):
            found.append(("non-concurrent-index", "runs SQL that creates an index without CONCURRENTLY"))
    return found


FIELD_OPS = {"AddField", "RemoveField", "AlterField", "RenameField"}
MODEL_OPS = {"DeleteModel", "RenameModel", "AlterModelTable", "AddIndex", "RemoveIndex", "AlterIndexTogether",
             "AlterUniqueTogether", "AddConstraint", "AddConstraintNotValid"}


def operation_rules(op: dict, vendor: str) -> list[tuple[str, str]]:
    kind = op.get("type")
    if not str(op.get("module") or "").startswith("django."):
        base = f" (a subclass of {op['django_base']})" if op.get("django_base") else ""
        return [("unknown-operation", f"is a third-party operation{base}: its effect on the running release "
                                      "is unknown, so it counts as unsafe")]
    if kind in FIELD_OPS:
        return field_rules(kind, op, vendor)
    if kind in MODEL_OPS:
        return model_rules(kind, op, vendor)
    if kind in ("RunPython", "RunSQL"):
        return code_rules(kind, op, vendor)
    if kind in SAFE:
        return []
    return [("unknown-operation", "is not analysed by this gate: its effect on the running release is unknown, "
                                  "so it counts as unsafe")]


def lint(plan: list[dict], vendor: str | None) -> list[Issue]:
    """The issues of every operation of every unapplied migration, in plan order."""
    issues: list[Issue] = []
    for migration in plan:
        name = f"{migration['app']}.{migration['name']}"
        pending = [(op, "") for op in migration.get("operations") or []]
        while pending:
            op, via = pending.pop(0)
            if op.get("type") == "SeparateDatabaseAndState" and str(op.get("module", "")).startswith("django."):
                pending[:0] = [(inner, "SeparateDatabaseAndState: ") for inner in op.get("database_operations") or []]
                continue
            for rule, message in operation_rules(op, vendor or ""):
                issues.append(Issue(name, via + label(op), rule, message, RULES[rule].unsafe))
    return issues


def gate(issues: list[Issue], allow_unsafe: bool) -> tuple[bool, list[str]]:
    """Whether the deploy may go on, and one line per issue for a person."""
    lines = []
    for issue in issues:
        text = f"{issue.migration}: {issue.operation} {issue.message} ({issue.rule})"
        if not issue.unsafe:
            lines.append(f"warning: {text}")
        elif allow_unsafe:
            lines.append(f"allowed: {text}; deploying anyway (--allow-unsafe-migrations)")
        else:
            lines.append(f"refused: {text}; --allow-unsafe-migrations to deploy anyway")
    return allow_unsafe or not any(issue.unsafe for issue in issues), lines


def review(result: dict, allow_unsafe: bool) -> tuple[bool, list[str]]:
    """gate(lint(...)) of migration_ops.unapplied's result; a plan that could not be read is refused
    whatever the flag says (nothing was checked, and migrate would meet the same error)."""
    error = result.get("error")
    if error:
        return False, [f"refused: the migration plan could not be read: {error.get('type')}: {error.get('message')}"]
    return gate(lint(result.get("plan") or [], result.get("vendor")), allow_unsafe)
