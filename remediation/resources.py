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
    """``--project`` when none is given: the Django project in the working directory (manage.py here
    or one level down, as the audit finds it); None (the bundled demo) when there is none."""
    here = Path(cwd or Path.cwd())
    if (here / "manage.py").is_file():
        return here
    try:
        if any((child / "manage.py").is_file() for child in here.iterdir() if child.is_dir()):
            return here
    except OSError:
        pass
    return None
