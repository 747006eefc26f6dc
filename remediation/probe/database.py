"""The database, the system checks and the migrations, as Django itself sees them."""

from __future__ import annotations

import os

from ..masking import scrub
from .common import error_info, is_loading_error, level_name
from .migration_plan import missing_parent_where, plan_problems
from .sources import migration_files


def check_messages(probe) -> dict:
    from django.core import checks

    try:
        messages = checks.run_checks(include_deployment_checks=True)
    except Exception as exc:
        return {"messages": [], "silenced": 0, "error": error_info(exc, probe.root)}
    visible = [m for m in messages if not m.is_silenced()]
    return {
        "messages": [
            {
                "id": m.id,
                "level": m.level,
                "level_name": level_name(m.level),
                "msg": str(m.msg),
                "hint": str(m.hint) if m.hint else None,
                "obj": str(m.obj) if m.obj is not None else None,
            }
            for m in visible
        ],
        "silenced": len(messages) - len(visible),
        "error": None,
    }


def database_facts(probe) -> dict:
    from django.db import connections

    if "default" not in connections.settings:
        return {"configured": False}
    conn = connections["default"]
    sd = conn.settings_dict
    info = {
        "configured": True,
        "engine": sd.get("ENGINE"),
        "vendor": conn.vendor,
        "name": str(sd.get("NAME") or ""),
        "host": sd.get("HOST") or "",
        "port": str(sd.get("PORT") or ""),
        "user": sd.get("USER") or "",
        "password_set": bool(sd.get("PASSWORD")),
        "reachable": False,
        "error": None,
    }
    if conn.vendor == "sqlite":
        name = info["name"]
        if name and name != ":memory:" and not name.startswith("file:"):
            if not os.path.exists(name):
                info["error"] = f"database file {name} does not exist"
                probe.db_usable = False
                return info
            info["size_bytes"] = os.path.getsize(name)
            # Read-only: an audit must never write, not even a journal.
            from urllib.request import pathname2url

            sd["NAME"] = f"file:{pathname2url(os.path.abspath(name))}?mode=ro"
    elif conn.vendor == "postgresql":
        sd.setdefault("OPTIONS", {}).setdefault("connect_timeout", int(probe.config.get("timeout", 3)))
    try:
        conn.ensure_connection()
        info["reachable"] = True
    except Exception as exc:
        info["error"] = scrub(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}", probe.secrets)
    probe.db_usable = info["reachable"]
    return info


def migration_facts(probe) -> dict:
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.loader import MigrationLoader

    result = {"apps": {}, "plan": [], "error": None, "applied_known": False, "conflicts": {}, "model_changes": {}}
    loader = None
    if getattr(probe, "db_usable", False):
        try:
            executor = MigrationExecutor(connections["default"])
            loader = executor.loader
            result["applied_known"] = True
            plan = executor.migration_plan(loader.graph.leaf_nodes())
            result["plan"] = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
        except Exception as exc:
            if is_loading_error(exc):
                result["error"] = loading_error(exc, probe.root)
                return result
            result["db_error"] = scrub(f"{type(exc).__name__}: {exc}".splitlines()[0], probe.secrets)
            loader = None
    if loader is None:
        try:
            loader = MigrationLoader(None, ignore_no_migrations=True)
        except Exception as exc:
            result["error"] = loading_error(exc, probe.root)
            return result
    applied = set(loader.applied_migrations or {}) if result["applied_known"] else set()
    apps: dict = {}
    for app_label, name in sorted(loader.disk_migrations):
        entry = apps.setdefault(app_label, {"applied": [], "unapplied": []})
        if result["applied_known"]:
            entry["applied" if (app_label, name) in applied else "unapplied"].append(name)
        else:
            entry.setdefault("on_disk", []).append(name)
    result["apps"] = apps
    result["conflicts"] = {k: sorted(v) for k, v in loader.detect_conflicts().items()}
    conflicting = [f"{app}.{name}" for app, names in sorted(result["conflicts"].items()) for name in names]
    result["files"] = migration_files(loader, result["plan"] + conflicting, probe.root)
    result["model_changes"] = model_changes(probe, loader)
    try:  # only the unapplied plan when the database says what is applied, else every migration
        if result["applied_known"]:
            nodes = [tuple(label.split(".", 1)) for label in result["plan"]]
        else:
            nodes = [node for leaf in sorted(loader.graph.leaf_nodes()) for node in loader.graph.forwards_plan(leaf)]
        result["plan_check"] = plan_problems(loader, list(dict.fromkeys(nodes)), probe.root)
    except Exception as exc:
        result["plan_check"] = {"error": error_info(exc, probe.root)}
    return result


def loading_error(exc, root: str) -> dict:
    """error_info, placed at the migration whose dependency is missing when that is the error."""
    info = error_info(exc, root)
    info["where"] = missing_parent_where(exc, root) or info["where"]
    return info


def model_changes(probe, loader) -> dict:
    """What makemigrations --check would write: models changed without a migration."""
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
    from django.db.migrations.state import ProjectState
    from django.utils import translation

    try:
        # As makemigrations does (@no_translations): translated verbose names are not changes.
        with translation.override(None):
            changes = MigrationAutodetector(
                loader.project_state(),
                ProjectState.from_apps(apps),
                NonInteractiveMigrationQuestioner(specified_apps=None, dry_run=True),
            ).changes(graph=loader.graph)
    except Exception as exc:
        return {"error": error_info(exc, probe.root)}
    return {
        app: [op.describe() for migration in migrations for op in migration.operations]
        for app, migrations in changes.items()
    }
