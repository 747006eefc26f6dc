"""fix-prod for one host: audit under the production env, plan every fix, apply, audit again.

    facts (production env) -> plan env fixes (in memory) -> probe under the planned env
      -> security flags (env or settings overlay) -> plan actions (migrate, copy, static, push)
      -> [--check stops here] -> write files atomically -> run actions -> audit again

A failure while writing files rolls back the files this run already wrote; a failing migration
restores the database from the backup taken just before it. Nothing is written before every
plan succeeded, so bad input leaves every file as it was.
"""

from __future__ import annotations

import contextlib
import getpass
import io
import os
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dotenv.parser import parse_stream

from ..changes import ChangeFailed, FileChange, RunRecord, prune_runs
from ..checks import run_checks
from ..envfile import EnvDocument, EnvValueError
from ..facts import EnvFile, ProjectError, collect, gather
from ..findings import Finding
from ..fixes import (
    collectstatic,
    copy_data,
    database,
    env_file,
    external,
    git_push,
    migrate,
    redis,
    secret_key,
    security_flags,
)
from ..fixes.base import CHANGED, FAILED, NEEDS_INPUT, OK, SKIPPED, Context, Options, Outcome
from ..lock import project_lock
from ..masking import secret_values
from ..rollback import restore_files
from ..runner import DEMO_PROJECT, UsageError
from ..transport import Local, Transport, TransportError

TEMPLATES = str(Path(__file__).resolve().parent.parent.parent / "templates")
ENV_FIXES = (secret_key, env_file, redis, external, database)
ACTION_FIXES = (migrate, copy_data, collectstatic, git_push)
FIXED, STILL_OPEN = "fixed", "still open"


@dataclass
class FixResult:
    name: str
    status: str
    message: str
    repairs: tuple = ()
    needs: list = field(default_factory=list)


@dataclass
class FixRun:
    host: str
    project: str
    check: bool
    fixes: list[FixResult] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)
    before: list[Finding] = field(default_factory=list)
    after: list[Finding] = field(default_factory=list)
    after_facts: dict = field(default_factory=dict)
    run_id: str | None = None
    error: str | None = None
    status: str = "ok"  # ok, unreachable or failed (fleet runs)

    def finding_states(self) -> list[tuple[Finding, str]]:
        """Each finding of the audit before, and what became of it; new findings after too."""
        after = {f.id: f for f in self.after}
        states = []
        for finding in self.before:
            now = after.get(finding.id)
            if now is None:
                states.append((finding, FIXED))
            elif now.needs:  # it names what a person must supply: an env key or a flag
                states.append((now, NEEDS_INPUT))
            else:
                states.append((now, STILL_OPEN))
        before_ids = {f.id for f in self.before}
        states += [(f, "new") for f in self.after if f.id not in before_ids]
        return states


class Inputs:
    """Values only a person can supply: the secrets file, then the environment, then a prompt."""

    def __init__(self, secrets_file: str | None, prompt: bool):
        self.values: dict[str, str] = {}
        self.prompt = prompt
        if secrets_file:
            path = Path(secrets_file).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--secrets: {path}: {exc.strerror or 'cannot read'}") from None
            for binding in parse_stream(io.StringIO(text)):
                if binding.error:
                    raise UsageError(f"--secrets: {path}:{binding.original.line}: cannot parse this line")
                if binding.key:
                    self.values[binding.key] = binding.value or ""

    def get(self, key: str, default=None):
        value = self.values.get(key) or os.environ.get(key)
        if not value and self.prompt:
            value = getpass.getpass(f"{key} (empty to skip): ").strip()
            self.values[key] = value
        return value or default


def production_env(transport: Transport, host: dict, env_path: str | None) -> tuple[str, EnvDocument, str | None]:
    """(production env path, its document, its text before) on the project's host.

    By default the production env goes beside the development .env, as ``.env.production``; a new
    one is seeded from the development .env, whose lines are all kept.
    """
    development = host["env"]["path"]
    if env_path:
        path = transport.user_path(env_path, host["root"])
    else:
        path = posixpath.join(posixpath.dirname(development) if development else host["root"], ".env.production")
    folder = posixpath.dirname(path)
    if transport.file_mode(folder) is None:
        raise UsageError(f"--env-file: {folder}: no such directory")
    if not transport.can_write(path):
        raise UsageError(f"--env-file: {path}: not writable")
    try:
        before = transport.read_text(path)
        if before is not None:
            return path, EnvDocument.parse(before, path), before
        seed = transport.read_text(development) if development else None  # bytes-faithful, unlike hostfacts' copy
        return path, EnvDocument.parse(seed or "", development or path), None
    except EnvValueError as exc:
        raise UsageError(str(exc)) from None


def probe(root, python, env_path, values, transport, host: dict | None = None) -> object:
    """The facts under the given env values; ``host`` reuses files already read (none written since)."""
    try:
        facts = gather(root, python=python, transport=transport, env=EnvFile(env_path, dict(values), present=True),
                       host=host)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None
    error = facts.probe_error
    if error and error["stage"] == "django":
        raise UsageError(f"{facts.python}: Django is not importable ({error['type']}: {error['message']})")
    return facts


@dataclass
class Plan:
    """Everything planned for one host, ready to be applied (or shown, in check mode)."""

    run: FixRun
    ctx: Context
    outcomes: dict
    repairs: dict
    secrets: set
    python: str
    stopped: bool = False


def fix_prod(options: Options, transport: Transport | None = None) -> tuple[FixRun, set[str]]:
    """Run fix-prod on one project; returns the run and the secret values no output may hold."""
    with contextlib.ExitStack() as held:  # the project's lock, from planning to the audit after (lock.py)
        plan = plan_fixes(options, transport or Local(), held)
        if not (options.check or plan.stopped):
            apply_plan(plan)
    plan.run.fixes = results(plan.outcomes, plan.repairs)
    return plan.run, plan.secrets


def plan_fixes(options: Options, transport: Transport, held: contextlib.ExitStack | None = None) -> Plan:
    """Audit under the production env, plan every fix in memory, probe under the planned env."""
    try:
        project = transport.project_path(options.project, DEMO_PROJECT)
    except TransportError as exc:
        raise UsageError(str(exc)) from None
    python = options.python or transport.default_python()
    if project == str(DEMO_PROJECT.resolve()) and not options.check:
        raise UsageError("the bundled demo is never changed in place: copy it with `invoke demo --dest DIR` "
                         "and pass --project DIR (or use --check)")
    if options.database_url:
        try:
            database.validate(options.database_url)
        except database.DatabaseUrlError as exc:
            raise UsageError(str(exc)) from None
    try:
        host = collect(project, python, None, transport)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None
    root = host["root"]
    if held is not None and not options.check:  # check mode writes nothing, not even a lock file
        held.enter_context(project_lock(transport, root, "fix-prod"))
    env_path, env, before_text = production_env(transport, host, options.env_file)
    inputs = Inputs(options.secrets_file, prompt=options.prompt and sys.stdin.isatty() and not options.check)
    facts = probe(root, python, env_path, env.values, transport, host)
    if facts.git.dirty_files and not options.allow_dirty:
        raise UsageError(f"{root}: {facts.git.dirty_files} uncommitted file(s) in the work tree; commit them or pass --allow-dirty")

    run = FixRun(host=transport.name, project=str(root), check=options.check, before=run_checks(facts))
    run.after, run.after_facts = run.before, facts.to_dict()  # until something changes
    ctx = Context(options=options, transport=transport, facts=facts, env=env, env_path=env_path, inputs=inputs,
                  findings=run.before)
    repairs = {fix.NAME: getattr(fix, "REPAIRS", ()) for fix in (*ENV_FIXES, security_flags, *ACTION_FIXES)}
    plan = Plan(run, ctx, {fix.NAME: fix.plan(ctx) for fix in ENV_FIXES}, repairs, set(), python)
    plan.secrets = secret_values(env.values) | secret_values(inputs.values) | secret_values(env.merged())

    create = plan.outcomes[database.NAME]
    if create.action is not None and not options.check:
        # The one change made while planning: the planned env must be probed against a database that exists.
        try:
            create.message += f"; {create.action()}"
        except ChangeFailed as exc:
            plan.outcomes[database.NAME] = Outcome(FAILED, f"{exc}; nothing else was changed")
            abandon(plan.outcomes, "the database could not be created")
            plan.stopped = True
            return plan
    ctx.planned = probe(root, python, env_path, env.merged(), transport, host) if (env.changed or env.added) else facts
    planned_ids = {f.id for f in run_checks(ctx.planned)}
    rotated = plan.outcomes[secret_key.NAME]
    if options.rotate_secret_key and rotated.status == CHANGED and not ctx.planned.settings.get("SECRET_KEY", {}).get("fallbacks"):
        rotated.message += ("; the settings do not read SECRET_KEY_FALLBACKS, so sessions and signatures made with "
                            "the old key stop working")
    check_database(options, ctx.planned, create.action is not None and options.check, transport)

    plan.outcomes[security_flags.NAME], overlay = security_flags.plan(ctx, planned_ids)
    verify_env_fixes(plan.outcomes, planned_ids)
    for fix in ACTION_FIXES:
        plan.outcomes[fix.NAME] = fix.plan(ctx)
    plan.secrets |= secret_values(env.merged())
    env_change = FileChange("env", env_path, before_text, env.render(TEMPLATES, new=before_text is None), mode=0o600,
                            current_mode=transport.file_mode(env_path), env_file=True, description="production env file")
    run.changes = [c for c in (env_change, overlay) if c is not None]
    return plan


def apply_plan(plan: Plan) -> None:
    """Write the files (atomically, backed up), run the actions in order, audit again."""
    ctx, run, outcomes, transport = plan.ctx, plan.run, plan.outcomes, plan.ctx.transport
    ctx.record = RunRecord(transport, run.project)
    run.run_id = ctx.record.run_id
    try:
        for change in run.changes:
            change.apply(transport, ctx.record)
    except ChangeFailed as exc:
        restore_files(transport, ctx.record.files)
        abandon(outcomes, f"{exc} (files restored)")
        return
    failed = None
    for fix in ACTION_FIXES:
        outcome = outcomes[fix.NAME]
        if outcome.action is None:
            continue
        if failed:
            outcomes[fix.NAME] = Outcome(SKIPPED, f"not run: {failed} failed first")
            continue
        try:
            outcome.message = outcome.action()
        except ChangeFailed as exc:
            outcomes[fix.NAME] = Outcome(FAILED, str(exc))
            failed = fix.NAME
    if any(c.changed for c in run.changes) or any(o.status in (CHANGED, FAILED) for o in outcomes.values()):
        written = EnvDocument.parse(transport.read_text(ctx.env_path) or "", ctx.env_path).values
        after = probe(run.project, plan.python, ctx.env_path, written, transport)
        run.after, run.after_facts = run_checks(after), after.to_dict()
    prune_runs(transport, run.project)


def abandon(outcomes: dict, reason: str) -> None:
    """Nothing planned was applied: no fix may claim ``changed``."""
    for name, outcome in outcomes.items():
        if outcome.status == CHANGED:
            outcomes[name] = Outcome(FAILED, f"not applied: {reason}")


def check_database(options: Options, planned, create_pending_in_check: bool, transport=None) -> None:
    """A --database-url that does not answer stops the run before anything is written."""
    if not options.database_url or create_pending_in_check:
        return
    db = planned.database
    if db.get("vendor") == "postgresql" and not db.get("reachable"):
        raise UsageError(database.unreachable(transport, planned, options.database_url))


def verify_env_fixes(outcomes: dict, planned_ids: set[str]) -> None:
    """An env fix whose findings survive the planned env did not work: say so, honestly."""
    for fix in ENV_FIXES:
        outcome = outcomes[fix.NAME]
        if outcome.status not in (OK, CHANGED):
            continue
        left = sorted(set(fix.REPAIRS) & planned_ids)
        if left:
            outcomes[fix.NAME] = Outcome(FAILED, f"{outcome.message}; still open under the production env: {', '.join(left)} "
                                                 "(the settings do not read these values)")


def results(outcomes: dict, repairs: dict) -> list[FixResult]:
    return [FixResult(name, o.status, o.message, tuple(repairs.get(name, ())), list(o.needs)) for name, o in outcomes.items()]
