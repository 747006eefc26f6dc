"""Static files without a gap, and media that outlive releases.

``collectstatic --clear`` empties the live folder before refilling it, and a STATIC_ROOT inside the
release disappears with the old release while browsers still hold its pages. Here STATIC_ROOT and
MEDIA_ROOT, when the settings put them inside the release, become links to ``shared/static`` and
``shared/media`` (Capistrano's linked dirs), and ``collectstatic`` runs WITHOUT ``--clear`` before
the switch: the new release's files are added beside the old ones, so every file either release
references is served during and after the switch. (Files no release references any more are left;
hashed names make them harmless, and they are small.)
"""

from __future__ import annotations

import posixpath

from ..changes import ChangeFailed
from ..manage import last_error_line, manage
from ..transport import Transport
from . import hostops
from .layout import Layout


def inside(path: str | None, root: str) -> str | None:
    """``path`` relative to ``root`` when it lies inside it (the audit saw the release at ``root``)."""
    if not path:
        return None
    root = root.rstrip("/") + "/"
    return path[len(root):].strip("/") if path.startswith(root) else None


def link_shared_dirs(transport: Transport, layout: Layout, settings: dict, audited_at: str, release_dir: str) -> list[str]:
    """STATIC_ROOT and MEDIA_ROOT inside the release become links into ``shared/``."""
    done = []
    for key, shared in (("STATIC_ROOT", layout.static), ("MEDIA_ROOT", layout.media)):
        relative = inside(settings.get(key), audited_at)
        if relative:
            hostops.link_shared(transport, release_dir, relative, shared)
            done.append(f"{relative} -> {shared}")
    return done


def collect(transport: Transport, python: str, manage_dir: str, env: dict, settings: dict) -> str:
    if not settings.get("STATIC_ROOT"):
        return "skipped: STATIC_ROOT is not set (audit: django.static_root)"
    result = manage(transport, python, manage_dir, env, "collectstatic", "--noinput", timeout=1800)
    if result.returncode != 0:
        raise ChangeFailed(f"collectstatic failed: {last_error_line(result, env)}")
    lines = [line for line in result.stdout.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "collectstatic done") + " (no --clear: the old release's files stay)"


def static_root_of(settings: dict, audited_at: str, release_dir: str) -> str | None:
    relative = inside(settings.get("STATIC_ROOT"), audited_at)
    return posixpath.join(release_dir, relative) if relative else settings.get("STATIC_ROOT")
