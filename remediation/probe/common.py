"""Small helpers every part of the probe uses (standard library only)."""

from __future__ import annotations

import os
import re
import traceback


def error_info(exc: BaseException, root: str) -> dict:
    """Exception type, message and the innermost place in the project it came from."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:
        frames.append(traceback.FrameSummary(exc.filename, exc.lineno or 0, "<module>"))
    where = None
    for frame in reversed(frames):
        if frame.filename.startswith(root):
            where = f"{os.path.relpath(frame.filename, root)}:{frame.lineno}"
            break
    if where is None and frames:
        where = f"{frames[-1].filename}:{frames[-1].lineno}"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return {"type": type(exc).__name__, "message": message[:500], "where": where}


def is_loading_error(exc: BaseException) -> bool:
    """Errors of the migration files themselves, as opposed to the database behind them."""
    from django.db.migrations.exceptions import BadMigrationError, NodeNotFoundError

    return isinstance(exc, (ImportError, SyntaxError, BadMigrationError, NodeNotFoundError, AttributeError, NameError))


def fingerprint(run_key: str | None, secret: str) -> str | None:
    """A keyed hash of a secret: equal on hosts sharing the secret within one run, useless outside it."""
    if not run_key or not secret:
        return None
    import hmac

    return hmac.new(run_key.encode(), secret.encode(), "sha256").hexdigest()[:16]


def level_name(level: int) -> str:
    for threshold, name in ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (20, "INFO")):
        if level >= threshold:
            return name
    return "DEBUG"


def settings_module_from_manage(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None
    match = re.search(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""", text)
    return match.group(1) if match else None
