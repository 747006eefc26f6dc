"""Where the files that ship with the toolkit are: the templates and the bundled demo project.

In a checkout they are the top-level ``templates/`` and ``examples/thebot``; in a built wheel
pyproject.toml maps them into the package (``remediation/templates``, ``remediation/demo/thebot``),
where ``importlib.resources`` finds them. One function so no module counts ``..`` to reach them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = {"templates": CHECKOUT / "templates", "demo": CHECKOUT / "examples"}


def bundled(name: str) -> Path:
    """The folder ``name`` ("templates" or "demo") as installed: package data, else the checkout's."""
    packaged = resources.files("remediation") / name
    if packaged.is_dir():
        return Path(str(packaged))
    return IN_CHECKOUT[name]


TEMPLATES = bundled("templates")
DEMO_PROJECT = bundled("demo") / "thebot"


def cwd_project(cwd: Path | None = None) -> Path | None:
    """``--project`` when none is given: the Django project in the working directory (a Django
    manage.py here or one level down, as the audit finds it); None (the bundled demo) when there is none."""
    here = Path(cwd or Path.cwd())
    if django_manage(here / "manage.py"):
        return here
    try:
        children = [child for child in here.iterdir() if child.is_dir()]
    except OSError:
        return None
    return here if any(django_manage(child / "manage.py") for child in children) else None


def django_manage(path: Path) -> bool:
    """A manage.py that Django's startproject wrote (or one like it), not any module of that name
    (this package has a remediation/manage.py)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(65536)
    except OSError:
        return False
    return "DJANGO_SETTINGS_MODULE" in text or "execute_from_command_line" in text
