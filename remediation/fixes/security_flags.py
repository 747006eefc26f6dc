"""HTTPS, HSTS and secure cookies in production, through the env when the settings derive them
from it (THE_BOT's do when DEBUG is False), otherwise through a rendered settings overlay.

Which one is decided by probing the project with the planned env, not by guessing.
"""

from __future__ import annotations

import os

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..changes import FileChange
from .base import CHANGED, OK, Outcome, set_env

NAME = "security_flags"
REPAIRS = (
    "security.ssl_redirect", "security.hsts", "security.hsts_subdomains", "security.hsts_preload",
    "security.session_cookie_secure", "security.csrf_cookie_secure", "security.content_type_nosniff",
)
TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "templates")


def overlay_for(settings_module: str, manage_dir: str) -> tuple[str, str, str]:
    """(base module, overlay module, overlay file): the overlay sits beside the settings."""
    base = settings_module
    for suffix in ("_production", ".production"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    folder = os.path.join(manage_dir, *base.split("."))
    if os.path.isdir(folder):  # a settings package: config/settings/ -> config/settings/production.py
        return base, f"{base}.production", os.path.join(folder, "production.py")
    return base, f"{base}_production", folder + "_production.py"


def plan(ctx, planned_ids: set[str]) -> tuple[Outcome, FileChange | None]:
    """With the planned env already probed: nothing left to do, or an overlay to write."""
    still = sorted(set(REPAIRS) & planned_ids)
    if not still:
        return Outcome(OK, "the settings turn the flags on under the production env"), None
    base, module, path = overlay_for(ctx.facts.probe.get("settings_module") or "", str(ctx.facts.manage_dir))
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    text = environment.get_template("settings_production.py.j2").render(base_module=base)
    change = FileChange(NAME, path, ctx.transport.read_text(path), text, description=f"settings overlay {module}")
    set_env(ctx, {"DJANGO_SETTINGS_MODULE": module})
    return Outcome(CHANGED, f"the settings do not set {', '.join(still)} from the env: overlay {module}"), change
