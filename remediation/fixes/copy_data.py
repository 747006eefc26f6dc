"""--copy-data: move the SQLite data into the new PostgreSQL database and prove it arrived.

Each side runs through the project's own environments, never through a ``sqlite://``
DATABASE_URL (real settings reject one in production):

- the source is the SQLite database the project reads under its *development* env file (the
  ``.env`` at the root or beside manage.py, as the audit finds it), found by the project's own
  manage.py and settings;
- the dump runs under that env too, the default database redirected to a copy taken with the
  sqlite3 backup API (the file itself is never modified): the copy is migrated to the latest
  schema, then dumped with natural keys (content types and permissions are recreated by migrate
  on the target);
- the load runs under the planned production env, into the migrated target;
- then the row count of every table is compared before success is reported.

The redirect is a few lines of our own (``RUNNER``): it wraps Django's ``LazySettings._setup`` so
that, once the project's settings are loaded as manage.py loads them, the default database's
``NAME`` points at the copy. No Django API redirects a configured database from outside.
"""

from __future__ import annotations

import json
import posixpath


from ..changes import ChangeFailed
from ..manage import dbadmin, last_error_line, manage
from ..masking import mask_url, scrub, secret_values
from ..facts import parse_env_text
from ..runner import UsageError
from ..transport import TransportError
from .base import CHANGED, FAILED, OK, Outcome

NAME = "copy_data"
REPAIRS = ()
SKIP_TABLES = ["django_migrations", "django_content_type", "auth_permission", "django_session"]
EXCLUDE = ("contenttypes", "auth.permission", "sessions")
MARKER = "@@REMEDIATION-SQLITE@@"
COPY_VAR = "REMEDIATION_SQLITE_COPY"

# The project's manage.py, run as it is, with the default database redirected to COPY_VAR's path;
# without COPY_VAR it only says which database the settings configure, and stops.
RUNNER = r"""
import json, os, runpy, sys
from django.conf import LazySettings
copy = os.environ.pop("REMEDIATION_SQLITE_COPY", "")
load = LazySettings._setup
def _setup(self, name=None):
    if copy:
        load(self, name)
        db = self._wrapped.DATABASES["default"]
        if "sqlite" not in str(db.get("ENGINE")):
            sys.stderr.write("the default database is no longer SQLite\n")
            os._exit(3)
        db["NAME"] = copy
        return
    try:
        load(self, name)
        db = self._wrapped.DATABASES.get("default") or {}
        path = str(db.get("NAME") or "")
        found = {"engine": str(db.get("ENGINE") or ""), "name": os.path.abspath(path) if path else ""}
    except BaseException as exc:
        lines = str(exc).strip().splitlines()
        found = {"error": type(exc).__name__ + (": " + lines[0] if lines else "")}
    sys.stdout.write("\n@@REMEDIATION-SQLITE@@" + json.dumps(found) + "\n")
    sys.stdout.flush()
    os._exit(0)
LazySettings._setup = _setup
sys.argv = ["manage.py"] + sys.argv[1:]
runpy.run_path("manage.py", run_name="__main__")
"""


def development_env(ctx) -> tuple[str | None, dict[str, str]]:
    """The development env file (``.env`` at the root, else beside manage.py) and its values."""
    root, manage_dir = str(ctx.facts.root), str(ctx.facts.manage_dir)
    for folder in dict.fromkeys((root, manage_dir)):
        path = posixpath.join(folder, ".env")
        text = ctx.transport.read_text(path)
        if text is not None:
            return path, parse_env_text(path, text).values
    return None, {}


def run_manage(ctx, env: dict, *args: str, copy: str | None = None):
    """manage.py ARGS under ``env``, the default database redirected to ``copy``; without ``copy``
    it only loads the settings and says which database they configure."""
    extra = {COPY_VAR: copy} if copy else {}
    return ctx.transport.run([ctx.facts.python, "-B", "-c", RUNNER, *args], env={**env, **extra},
                             cwd=str(ctx.facts.manage_dir), timeout=1800)


def sqlite_source(ctx) -> tuple[str | None, dict, dict[str, int]]:
    """(SQLite path, development env, row counts) as the project reads them in development; the
    path is None when the development database is not SQLite.

    Raises UsageError (one line, nothing written) when the settings or the SQLite file cannot be read.
    """
    env_path, env = development_env(ctx)
    under = f"under the development env ({env_path or 'no .env file'})"
    try:
        result = run_manage(ctx, env, "help")
    except TransportError as exc:
        raise UsageError(f"--copy-data: {under} the settings could not be loaded: {exc}") from None
    found = result.stdout.rfind(MARKER)
    if found < 0:
        raise UsageError(f"--copy-data: {under} manage.py did not load the settings: {last_error_line(result, env)}")
    source = json.loads(result.stdout[found + len(MARKER):].splitlines()[0])
    if source.get("error"):
        raise UsageError(f"--copy-data: {under} the settings raise: {scrub(source['error'], secret_values(env))}")
    if "sqlite" not in source["engine"]:
        return None, env, {}
    counts = dbadmin(ctx.transport, ctx.facts.python, {"action": "sqlite_counts", "path": source["name"], "skip": SKIP_TABLES})
    if counts.get("error"):
        raise UsageError(f"--copy-data: {under} the SQLite database {source['name'] or '(no NAME)'} cannot be read: "
                         f"{counts['error']}")
    return source["name"], env, counts["counts"]


def plan(ctx) -> Outcome:
    if not ctx.options.copy_data:
        return Outcome(OK, "not asked (--copy-data)")
    if not ctx.options.database_url:
        return Outcome(FAILED, "--copy-data needs --database-url")
    path, env, source_counts = sqlite_source(ctx)
    if path is None:
        return Outcome(OK, "the development database is not SQLite; nothing to copy")
    target = dbadmin(ctx.transport, ctx.facts.python,
                     {"action": "count", "url": ctx.options.database_url, "tables": sorted(source_counts)})
    held = sum(n or 0 for n in target.get("counts", {}).values())
    if not target.get("error") and held:
        return Outcome(OK, f"the target already holds data ({held} rows); not copied again")
    total = sum(source_counts.values())
    return Outcome(CHANGED, f"copy {total} rows in {len(source_counts)} tables from {path} (the development database)",
                   action=lambda: copy(ctx, path, env), action_label="copy data")


def copy(ctx, source: str, dev_env: dict) -> str:
    """Snapshot, migrate and dump under the development env; load under the production env; count."""
    folder = posixpath.join(str(ctx.record.folder), "copy-data")
    ctx.transport.makedirs(folder)
    snapshot, dump = posixpath.join(folder, "source.sqlite3"), posixpath.join(folder, "data.json")
    prod_env = ctx.env.merged()
    try:
        done = dbadmin(ctx.transport, ctx.facts.python, {"action": "sqlite_backup", "src": source, "dst": snapshot})
        if done.get("error"):
            raise ChangeFailed(f"copy data: snapshot of {source} failed: {done['error']}")
        for step, env, args, redirect in (
            ("migrating the SQLite copy", dev_env, ("migrate", "--noinput"), snapshot),
            ("dumpdata", dev_env, ("dumpdata", "--natural-foreign", "--natural-primary",
                                   *[a for e in EXCLUDE for a in ("-e", e)], "--output", dump), snapshot),
            ("loaddata", prod_env, ("loaddata", dump), None),
        ):
            try:
                if redirect:
                    result = run_manage(ctx, env, *args, copy=redirect)
                else:
                    result = manage(ctx.transport, ctx.facts.python, str(ctx.facts.manage_dir), env, *args)
            except TransportError as exc:
                raise ChangeFailed(f"copy data: {step} failed: {scrub(str(exc), secret_values(env))}") from None
            if result.returncode != 0:
                raise ChangeFailed(f"copy data: {step} failed: {last_error_line(result, env)}")
        return verify(ctx, snapshot)
    finally:
        for path in (snapshot, dump):
            ctx.transport.remove(path)


def verify(ctx, snapshot: str) -> str:
    """Every table of the (migrated) copy has as many rows in the target."""
    found = dbadmin(ctx.transport, ctx.facts.python, {"action": "sqlite_counts", "path": snapshot, "skip": SKIP_TABLES})
    if found.get("error"):
        raise ChangeFailed(f"copy data: counting rows of the SQLite copy failed: {found['error']}")
    expected = found["counts"]
    names = sorted(expected)
    url = ctx.options.database_url
    target = dbadmin(ctx.transport, ctx.facts.python, {"action": "count", "url": url, "tables": names})
    if target.get("error"):
        raise ChangeFailed(f"copy data: counting rows in {mask_url(url)} failed: {target['error']}")
    wrong = [f"{n} {expected[n]} != {target['counts'].get(n)}" for n in names if expected[n] != target["counts"].get(n)]
    if wrong:
        raise ChangeFailed(f"copy data: row counts differ: {'; '.join(wrong)}")
    return f"copied {sum(expected.values())} rows; every table's row count matches ({len(names)} tables)"

