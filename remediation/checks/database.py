"""Seed section 6: the engine, whether it answers, and the migration state."""

from .base import CRITICAL, DJANGO, HIGH, MANUAL, MEDIUM, applies_when, django_ready, finding_for, shown_path

finding = finding_for("database")


@applies_when(DJANGO)
def sqlite_in_use(facts):
    db = facts.database
    if not django_ready(facts) or db.get("vendor") != "sqlite":
        return []
    shown = shown_path(facts, db.get("name") or "")
    size = f" ({db['size_bytes'] / 1e6:.1f} MB)" if db.get("size_bytes") is not None else ""
    return [finding(id="database.sqlite", severity=CRITICAL, title="SQLite instead of PostgreSQL",
                    detail=f"default database is SQLite at {shown}{size}",
                    fix="database", needs=("--database-url",), applies_from="staging")]


@applies_when(DJANGO)
def unreachable(facts):
    db = facts.database
    if not django_ready(facts) or not db.get("configured") or db.get("reachable"):
        return []
    where = f"{db.get('engine')} {db.get('host') or ''}{':' + db['port'] if db.get('port') else ''}".strip()
    return [finding(id="database.unreachable", severity=CRITICAL, title="Database does not answer",
                    detail=f"{where}: {db.get('error')}", fix=MANUAL, applies_from="development")]


@applies_when(DJANGO, (lambda facts: bool(facts.migrations), "the migrations could not be read"))
def migrations_broken(facts):
    """Files that do not load, or a plan that cannot be built in memory from each migration's dependencies."""
    error = facts.migrations.get("error")
    if error:
        return [finding(id="database.migrations_broken", severity=HIGH, title="Migrations cannot be loaded",
                        detail=f"{error['type']}: {error['message']} at {error['where']}",
                        fix=MANUAL, applies_from="development")]
    problems = (facts.migrations.get("plan_check") or {}).get("problems") or []
    if not problems:
        return []
    details = []
    for problem in problems:
        text = problem["message"] if problem["type"] == "PlanError" else f"{problem['migration']}: {problem['type']}: {problem['message']}"
        if problem.get("fix"):
            text += f"; {problem['fix']}"
        details.append(text + (f" ({problem['where']})" if problem.get("where") else ""))
    return [finding(id="database.migrations_broken", severity=HIGH, title="Migration plan cannot be built",
                    detail="; ".join(details), fix=MANUAL, applies_from="development")]


@applies_when(DJANGO, (lambda facts: bool(facts.migrations), "the migrations could not be read"))
def migration_conflicts(facts):
    conflicts = facts.migrations.get("conflicts") or {}
    if not conflicts:
        return []
    detail = "; ".join(f"{app}: {', '.join(names)}" for app, names in sorted(conflicts.items()))
    return [finding(id="database.migration_conflict", severity=HIGH, title="Conflicting migrations",
                    detail=f"several leaf migrations ({detail}); run makemigrations --merge",
                    fix=MANUAL, applies_from="development")]


@applies_when(DJANGO, (lambda facts: bool(facts.migrations), "the migrations could not be read"))
def unapplied_migrations(facts):
    plan = facts.migrations.get("plan") or []
    if not plan:
        return []
    return [finding(id="database.migrations_unapplied", severity=MEDIUM, title="Migrations not applied",
                    detail=f"{len(plan)} unapplied: {', '.join(plan)}", fix="migrate", applies_from="staging")]


@applies_when(DJANGO, (lambda facts: bool(facts.migrations), "the migrations could not be read"))
def model_changes(facts):
    changes = facts.migrations.get("model_changes") or {}
    if not changes:
        return []
    if "error" in changes:
        error = changes["error"]
        detail = f"cannot compare models with migrations: {error['type']}: {error['message']}"
    else:
        detail = "; ".join(f"{app}: {', '.join(ops)}" for app, ops in sorted(changes.items()))
    return [finding(id="database.model_changes", severity=MEDIUM, title="Models changed without migrations",
                    detail=f"{detail}; run makemigrations and review the result", fix=MANUAL, applies_from="staging")]


CHECKS = (sqlite_in_use, unreachable, migrations_broken, migration_conflicts, unapplied_migrations, model_changes)
