"""HTTPS, HSTS and secure cookies in production, through the env when the settings derive them
from it (THE_BOT's do when DEBUG is False), otherwise through a rendered settings overlay.

Which one is decided by probing the project with the planned env, not by guessing.
"""

from __future__ import annotations

import os
import re

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..changes import FileChange
from ..checks.base import django_ready
from .base import CHANGED, FAILED, OK, SKIPPED, Outcome, set_env
from .. import resources

NAME = "security_flags"
REPAIRS = (
    "security.ssl_redirect", "security.hsts", "security.hsts_subdomains", "security.hsts_preload",
    "security.session_cookie_secure", "security.csrf_cookie_secure", "security.content_type_nosniff",
)
TEMPLATES = str(resources.TEMPLATES)


MARKER = "written by django-remediation fix-prod"  # in the template's docstring


def module_file(module: str, manage_dir: str, read_text) -> tuple[str, bool]:
    """(path of the module's source, whether it is a package) below manage_dir, on its host."""
    folder = os.path.join(manage_dir, *module.split("."))
    init = os.path.join(folder, "__init__.py")
    return (init, True) if read_text(init) is not None else (folder + ".py", False)


def overlay_for(settings_module: str, manage_dir: str, read_text) -> tuple[str, str, str]:
    """(base module, overlay module, overlay file).

    The overlay imports the settings in use and sits beside them; it never replaces a file of the
    project (config/settings/production.py stays the project's own). When the settings in use are
    already our overlay, it is written again in place over the same base.
    """
    path, package = module_file(settings_module, manage_dir, read_text)
    current = read_text(path) or ""
    if MARKER in current:
        found = re.search(r"^from (\S+) import \*", current, re.M)
        if found:
            return found.group(1), settings_module, path
    suffix = "_hardened" if settings_module.rsplit(".", 1)[-1].endswith("production") else "_production"
    module = f"{settings_module}.production" if package else f"{settings_module}{suffix}"
    for candidate in (module, f"{module}_remediation"):
        target, _ = module_file(candidate, manage_dir, read_text)
        existing = read_text(target)
        if existing is None or MARKER in existing:
            return settings_module, candidate, target
    raise ValueError(f"{module} and {module}_remediation exist and are the project's own")


def plan(ctx, planned_ids: set[str]) -> tuple[Outcome, FileChange | None]:
    """With the planned env already probed: nothing left to do, or an overlay to write."""
    if not django_ready(ctx.planned or ctx.facts):
        return Outcome(SKIPPED, "could not decide: the settings did not import under the planned env"), None
    still = sorted(set(REPAIRS) & planned_ids)
    if not still:
        return Outcome(OK, "the settings turn the flags on under the production env"), None
    try:
        base, module, path = overlay_for((ctx.planned or ctx.facts).probe.get("settings_module") or "",
                                         str(ctx.facts.manage_dir), ctx.transport.read_text)
    except ValueError as exc:
        return Outcome(FAILED, f"no place for a settings overlay: {exc}"), None
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    text = environment.get_template("settings_production.py.j2").render(base_module=base)
    change = FileChange(NAME, path, ctx.transport.read_text(path), text, description=f"settings overlay {module}")
    set_env(ctx, {"DJANGO_SETTINGS_MODULE": module})
    return Outcome(CHANGED, f"the settings do not set {', '.join(still)} from the env: overlay {module}"), change
