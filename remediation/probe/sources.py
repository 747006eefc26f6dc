"""Where the settings and the migrations are written: file and line, for SARIF's locations.

Django's settings are Python, so the line that sets a flag is found with ``ast`` in the settings
module's file, following its ``from .base import *`` (the usual split settings) to the modules it
star-imports; the module's own assignments win over what it imported, a later one over an earlier
one, as Python evaluates them. Paths are relative to the folder of manage.py (the probe's root).
"""

from __future__ import annotations

import ast
import os
import sys

MAX_SETTINGS_FILES = 10  # a settings module and what it star-imports, transitively


def module_file(name: str) -> str | None:
    path = getattr(sys.modules.get(name), "__file__", None)
    return path if path and path.endswith(".py") and os.path.isfile(path) else None


def assignments_in(path: str) -> tuple[dict, list[str]]:
    """{NAME: line} of the upper-case names a file assigns (top-level statements first, the last
    one winning; an assignment nested in an ``if`` only where no top-level one exists), and the
    modules it star-imports, absolute."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    top, nested, stars = {}, {}, []
    top_nodes = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            stars.append((node.level, node.module or ""))
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and n.id.isupper()]
        for name in names:
            if id(node) in top_nodes:
                top[name] = node.lineno
            else:
                nested.setdefault(name, node.lineno)
    return {**nested, **top}, stars


def star_module(package: str, level: int, module: str) -> str:
    if level == 0:
        return module
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{module}" if module else base


def settings_source(root: str, module: str | None) -> dict:
    """{"file": the settings module's file, "assignments": {NAME: [file, line]}} (files relative to root)."""
    found: dict = {}
    first = module_file(module) if module else None
    queue, seen = ([(module, first)] if first else []), set()
    while queue and len(seen) < MAX_SETTINGS_FILES:
        name, path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            lines, stars = assignments_in(path)
        except (OSError, SyntaxError, ValueError):
            continue
        shown = os.path.relpath(path, root)
        for setting, line in lines.items():
            found.setdefault(setting, [shown, line])  # earlier files in the queue are the importers: they win
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        for level, imported in reversed(stars):  # the last star import overrides the earlier ones
            target = star_module(package, level, imported)
            target_path = module_file(target)
            if target_path:
                queue.append((target, target_path))
    return {"file": os.path.relpath(first, root) if first else None, "assignments": found}


def migration_files(loader, labels, root: str) -> dict:
    """{"app.name": file relative to root} for the given migrations (unapplied, conflicting)."""
    files = {}
    for label in labels:
        app, _, name = label.partition(".")
        migration = loader.disk_migrations.get((app, name))
        path = module_file(type(migration).__module__) if migration is not None else None
        if path:
            files[label] = os.path.relpath(path, root)
    return files
