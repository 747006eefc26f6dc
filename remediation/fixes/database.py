"""PostgreSQL instead of SQLite: DATABASE_URL from --database-url, and with --create-database the
role and database made when missing (through the project's own driver, on its host)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from ..changes import ChangeFailed
from ..manage import dbadmin
from ..masking import mask_url
from .base import CHANGED, FAILED, NEEDS_INPUT, OK, Outcome, set_env

NAME = "database"
REPAIRS = ("database.sqlite", "env.database_url")


class DatabaseUrlError(ValueError):
    """--database-url is not a usable PostgreSQL URL (exit status 2)."""


def validate(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise DatabaseUrlError(f"--database-url: {exc}") from None
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise DatabaseUrlError(f"--database-url: scheme {parts.scheme or 'none'!r} is not postgres://")
    if not parts.hostname or not parts.path.strip("/") or not parts.username:
        raise DatabaseUrlError("--database-url: needs postgres://USER[:PASSWORD]@HOST[:PORT]/NAME")


def admin_url(url: str) -> str:
    """The maintenance connection: user postgres on the same server (trust, peer or .pgpass)."""
    parts = urlsplit(url)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(("postgres", f"postgres@{host}", "/postgres", "", ""))


def plan(ctx) -> Outcome:
    url = ctx.options.database_url
    vendor = ctx.facts.database.get("vendor")
    if not url:
        if vendor == "sqlite":
            return Outcome(NEEDS_INPUT, "SQLite in use: pass --database-url postgres://...", needs=["--database-url"])
        return Outcome(OK, f"{vendor or 'no'} database; nothing to switch")
    changed = set_env(ctx, {"DATABASE_URL": url})
    message = f"DATABASE_URL set to {mask_url(url)}" if changed else "DATABASE_URL already set"
    if not ctx.options.create_database:
        return Outcome(CHANGED if changed else OK, message)
    state = dbadmin(ctx.transport, ctx.facts.python, {"action": "inspect", "url": url, "admin_url": admin_url(url)})
    if state.get("error"):
        return Outcome(FAILED, f"cannot inspect {mask_url(admin_url(url))}: {state['error']}")
    missing = [what for what, exists in (("role", state["role_exists"]), ("database", state["db_exists"])) if not exists]
    if not missing:
        return Outcome(CHANGED if changed else OK, message + "; role and database exist")
    return Outcome(CHANGED, f"{message}; create {' and '.join(missing)}", action=lambda: create(ctx, url),
                   action_label="create database")


def create(ctx, url: str) -> str:
    state = dbadmin(ctx.transport, ctx.facts.python, {"action": "create", "url": url, "admin_url": admin_url(url)})
    if state.get("error"):
        raise ChangeFailed(f"creating the database failed: {state['error']}")
    return "created " + ", ".join(state["created"]) if state["created"] else "role and database exist"
