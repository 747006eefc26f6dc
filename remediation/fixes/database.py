"""PostgreSQL instead of SQLite: the variables the settings read, from --database-url, and with
--create-database the role and database made when missing (through the project's own driver, on
its host, at apply time: planning only looks).

Which variables: the settings' own reads (``Facts.env_reads``) decide. A URL variable
(``DATABASE_URL``, ``DB_URL``, ``POSTGRES_URL``...) gets the URL; otherwise a family of parts
(``DB_ENGINE``/``DB_NAME``/``DB_USER``/``DB_PASSWORD``/``DB_HOST``/``DB_PORT``, ``POSTGRES_DB``...,
``PGDATABASE``..., ``SQL_DATABASE``...) gets the URL's parts, decoded, under the prefix the settings
use. The parts a family reads only once PostgreSQL is selected (DB_USER behind ``if DB_ENGINE``)
cannot be seen under SQLite, so the whole family is written; the probe under the planned env
then says whether the settings took it. Settings that read no database variable get nothing.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

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


URL_VARIABLE = re.compile(r"^(?:[A-Z0-9]+_)?(?:DATABASE|DB|POSTGRES|POSTGRESQL|PG)_?URL$")
PART_VARIABLE = re.compile(r"^(?P<prefix>(?:[A-Z0-9]+_)?(?:DB|DATABASE|POSTGRES|POSTGRESQL|SQL)_|PG)"
                           r"(?P<part>ENGINE|NAME|DB|DATABASE|USER|USERNAME|PASSWORD|PASS|HOST|PORT)$")
SELECTORS = {"DB", "DB_TYPE", "DB_BACKEND", "DB_VENDOR", "DATABASE_TYPE", "DATABASE_BACKEND"}
PARTS = {"engine": ("ENGINE",), "name": ("NAME", "DB", "DATABASE"), "user": ("USER", "USERNAME"),
         "password": ("PASSWORD", "PASS"), "host": ("HOST",), "port": ("PORT",)}
NAME_PART = {"PG": "DATABASE", "POSTGRES_": "DB", "POSTGRESQL_": "DB", "SQL_": "DATABASE"}


def engine_value(default) -> str:
    """PostgreSQL, spelled like the variable's own default: a dotted backend path or a short name."""
    if isinstance(default, str) and re.fullmatch(r"[a-z][a-z0-9_]*", default):  # "sqlite", "sqlite3"
        return "postgresql"
    return "django.db.backends.postgresql"  # a backend path, no default, or one masked as "****"


def variables(url: str, reads: dict | None) -> dict[str, str]:
    """The env variables to write for ``url``, by what the settings read ({} when they read none)."""
    if reads is None:  # unknown: what the settings of most projects read
        return {"DATABASE_URL": url}
    urls = [name for name in reads if URL_VARIABLE.match(name)]
    if urls:
        return {"DATABASE_URL" if "DATABASE_URL" in urls else urls[0]: url}
    found: dict[str, dict[str, str]] = {}
    for name in reads:
        match = PART_VARIABLE.match(name)
        if match:
            found.setdefault(match["prefix"], {})[match["part"]] = name
    selectors = [name for name in reads if name in SELECTORS]
    if not found and not selectors:
        return {}
    if not found:  # only a switch (DB=...) is read under SQLite: its family is read once it is switched
        found = {selectors[0].split("_")[0] + "_": {}}
    prefix = max(found, key=lambda p: len(found[p]))  # the family the settings use most
    parts = urlsplit(url)
    values = {"name": unquote(parts.path.lstrip("/")), "user": unquote(parts.username or ""),
              "password": unquote(parts.password or ""), "host": parts.hostname or "", "port": str(parts.port or 5432)}
    written = {}
    engine = next((found[prefix][p] for p in PARTS["engine"] if p in found[prefix]), None) or next(iter(selectors), None)
    if engine:
        written[engine] = engine_value((reads[engine] or {}).get("default"))
    for role, value in values.items():
        if not value:
            continue
        part = next((p for p in PARTS[role] if p in found[prefix]), None)
        part = part or (NAME_PART.get(prefix, "NAME") if role == "name" else PARTS[role][0])
        written[prefix + part] = value
    return written


def plan(ctx) -> Outcome:
    url = ctx.options.database_url
    vendor = ctx.facts.database.get("vendor")
    if not url:
        if vendor == "sqlite":
            return Outcome(NEEDS_INPUT, "SQLite in use: pass --database-url postgres://...", needs=["--database-url"])
        return Outcome(OK, f"{vendor or 'no'} database; nothing to switch")
    wanted = variables(url, ctx.facts.env_reads)
    if not wanted:
        return Outcome(FAILED, "the settings read no database variable (DATABASE_URL, DB_NAME, ...): their DATABASES "
                               "is fixed in the code; nothing written, change it there")
    changed = set_env(ctx, wanted)
    shown = ", ".join(wanted)
    if not changed:
        message = f"{shown} already set"
    elif len(wanted) == 1:
        message = f"{shown} set to {mask_url(url)}"
    else:
        message = f"{shown} set from {mask_url(url)}"
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


def unreachable(transport, planned, url: str) -> str:
    """The one line for a --database-url the project cannot reach under the planned env.

    When PostgreSQL refuses a percent-encoded password, we try it decoded, ourselves: if that is
    accepted, the project's settings pass the password on without decoding it, and we say so.
    """
    error = planned.database.get("error") or "no answer"
    line = f"--database-url: {mask_url(url)} does not answer: {error}"
    password = urlsplit(url).password or ""
    if "password authentication failed" not in error or unquote(password) == password or transport is None:
        return line
    decoded = dbadmin(transport, planned.python, {"action": "count", "url": url, "tables": []})
    if decoded.get("error"):
        return line
    return (line + "; its password needs percent-encoding in the URL and the project's settings do not decode it "
                   "(PostgreSQL accepts it decoded): decode it in the settings (urllib.parse.unquote) or choose a "
                   "password that needs no encoding")

