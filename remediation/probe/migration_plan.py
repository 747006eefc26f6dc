"""Whether each migration can be applied in memory from what its own dependencies provide.

``migrate`` applies the plan onto one running state, so a migration that uses a model created by a
migration it does not depend on works only while the plan happens to order them well (a fresh
database, another host or a squash orders them otherwise and the run fails half-way). Django's
loader builds the state of a node's ancestors only (``project_state(node, at_end=False)``); the
migration's operations are applied to that state, then every model they name must be in it.
No database is needed. Django has no such check, so the few lines below do it.
"""

from __future__ import annotations

import os
import sys
import time

PLAN_CHECK_BUDGET_S = 2.0


def migration_file(migration, root: str) -> str | None:
    module = sys.modules.get(type(migration).__module__)
    path = getattr(module, "__file__", None)
    if not path:
        return None
    return os.path.relpath(path, root) if path.startswith(root) else path


def model_key(reference, app_label: str):
    """("app", "model") from a field's lazy reference ("app.Model" or "Model"); None for classes."""
    if not isinstance(reference, str) or reference == "self":
        return None
    app, _, model = reference.rpartition(".")
    return (app or app_label, model.lower())


def referenced_models(app_label: str, operation) -> list:
    """The models an operation needs to exist after the migration: its own and those its fields point at."""
    keys = []
    fields = list(getattr(operation, "fields", None) or [])
    if getattr(operation, "field", None) is not None:
        fields.append((getattr(operation, "name", ""), operation.field))
    for _name, field in fields:
        remote = getattr(field, "remote_field", None)
        if remote is not None:
            keys += [model_key(remote.model, app_label), model_key(getattr(remote, "through", None), app_label)]
    for base in getattr(operation, "bases", None) or ():
        if isinstance(base, str) and "." in base:
            keys.append(model_key(base, app_label))
    return [key for key in keys if key is not None]


def model_creators(loader) -> dict:
    """(app, model) -> the migrations that create it (CreateModel, or RenameModel's new name)."""
    creators: dict = {}
    for (app_label, name), migration in sorted(loader.disk_migrations.items()):
        for operation in migration.operations:
            kind = type(operation).__name__
            created = (operation.name_lower if kind == "CreateModel" else
                       operation.new_name_lower if kind == "RenameModel" else None)
            if created:
                creators.setdefault((app_label, created), []).append((app_label, name))
    return creators


def missing_model_problem(node, key, migration, loader, creators, root) -> dict:
    app_label, model = key
    made_by = creators.get(key) or []
    label = f"{node[0]}.{node[1]}"
    if made_by:
        fix = f"add {made_by[0]!r} to its dependencies"
        message = (f"{label} uses {app_label}.{model}, which its dependencies do not provide "
                   f"(created by {made_by[0][0]}.{made_by[0][1]})")
    else:
        fix = None
        message = f"{label} uses {app_label}.{model}, which no migration creates"
    return {"migration": label, "type": "PlanError", "message": message, "where": migration_file(migration, root),
            "fix": fix}


def plan_problems(loader, nodes, root: str) -> dict:
    """Migrations in ``nodes`` whose operations need a model their ancestors do not provide."""
    creators, problems, checked = model_creators(loader), [], 0
    unmigrated = set(getattr(loader, "unmigrated_apps", ()) or ())
    deadline = time.monotonic() + PLAN_CHECK_BUDGET_S
    for node in nodes:
        if time.monotonic() > deadline:
            break
        checked += 1
        migration = loader.graph.nodes[node]
        try:
            state = loader.project_state(node, at_end=False)
            for operation in migration.operations:
                operation.state_forwards(node[0], state)
        except KeyError as exc:
            key = exc.args[0] if exc.args else None
            if isinstance(key, tuple) and len(key) == 2:
                problems.append(missing_model_problem(node, key, migration, loader, creators, root))
            continue
        except Exception as exc:  # the migration cannot even be applied in memory
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            problems.append({"migration": f"{node[0]}.{node[1]}", "type": type(exc).__name__, "message": message[:300],
                             "where": migration_file(migration, root), "fix": None})
            continue
        for operation in migration.operations:
            for key in referenced_models(node[0], operation):
                if key[0] not in unmigrated and key not in state.models:
                    problems.append(missing_model_problem(node, key, migration, loader, creators, root))
                    break
            else:
                continue
            break
    return {"problems": problems, "checked": checked, "total": len(nodes)}


def missing_parent_where(exc, root: str) -> str | None:
    """The file of the migration whose dependency is missing (NodeNotFoundError.origin)."""
    origin = getattr(exc, "origin", None)  # the Migration (or its key) that names the missing parent
    if hasattr(origin, "app_label") and hasattr(origin, "name"):
        return migration_file(origin, root)
    if not isinstance(origin, tuple) or len(origin) != 2:
        return None
    from django.db.migrations.loader import MigrationLoader

    module_name, _explicit = MigrationLoader.migrations_module(origin[0])
    module = sys.modules.get(f"{module_name}.{origin[1]}") if module_name else None
    path = getattr(module, "__file__", None)
    if not path:
        return None
    return os.path.relpath(path, root) if path.startswith(root) else path
