"""The probe, assembled: the modules below joined into one standalone script.

The probe runs in the target project's interpreter, which has none of the toolkit, so it travels
as source over stdin. It is written as ordinary modules (importable and testable here) and joined
in dependency order for the trip: package-relative imports are dropped (the joined script has one
namespace, so names must be unique across the parts), ``from __future__`` is kept once, at the top.
No library joins Python modules into one script this way, hence these few lines.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from .core import MARKER, PROBE_VERSION

HERE = Path(__file__).resolve().parent
# Dependency order: a part may use only the parts before it.
PARTS = (
    HERE.parent / "masking.py",
    HERE / "common.py",
    HERE / "environ.py",
    HERE / "settings_facts.py",
    HERE / "sources.py",
    HERE / "migration_plan.py",
    HERE / "database.py",
    HERE / "services.py",
    HERE / "configuration.py",
    HERE / "supervise.py",
    HERE / "core.py",  # last: it holds main() and the ``__main__`` guard
)


def strip_relative_imports(text: str) -> str:
    """The module without its package-relative imports and its ``from __future__`` line."""
    lines = text.splitlines(keepends=True)
    drop = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or node.module == "__future__"):
            drop.update(range(node.lineno - 1, node.end_lineno))
    return "".join(line for number, line in enumerate(lines) if number not in drop)


@lru_cache(maxsize=1)
def source() -> str:
    """The whole probe as one script."""
    parts = [f"# --- {path.name} ---\n{strip_relative_imports(path.read_text(encoding='utf-8'))}" for path in PARTS]
    return "from __future__ import annotations\n" + "\n".join(parts)


__all__ = ["MARKER", "PROBE_VERSION", "PARTS", "source"]
