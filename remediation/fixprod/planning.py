"""Planning a run: audit under the production env, plan every fix in memory, probe under the
planned env, plan the settings and the actions against what Django really does with it.

Planning writes nothing and creates nothing (databases are created at apply time), so --check is
planning without applying, and bad input leaves every file as it was.
"""

from __future__ import annotations

import contextlib
import posixpath
import sys
from dataclasses import dataclass, field, replace

from ..changes import FileChange
from ..checks import run_checks
from ..envfile import EnvDocument, EnvValueError
from ..facts import EnvFile, ProjectError, collect, gather
from ..fixes import ACTION_FIXES, ENV_FIXES, REGISTRY, database, git_push, repairs, secret_key, security_flags, settings_env
from ..fixes.base import CHANGED, FAILED, NEEDS_INPUT, OK, SKIPPED, Context, Options, Outcome
from ..lock import project_lock
from ..masking import secret_values
from ..runner import DEMO_PROJECT, UsageError
from ..transport import Transport, TransportError
from .inputs import Inputs
from .converge import converge, settings_failure
from .run import FixRun
from .. import resources

READ_BY_DJANGO = ("DJANGO_SETTINGS_MODULE",)  # read before the settings exist, so never in their reads
TEMPLATES = str(resources.TEMPLATES)


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


def probe(root, python, env_path, values, transport, host: dict | None = None, fingerprint_key: str | None = None) -> object:
    """The facts under the given env values; ``host`` reuses files already read (none written since)."""
    try:
        facts = gather(root, python=python, transport=transport, env=EnvFile(env_path, dict(values), present=True),
                       host=host, fingerprint_key=fingerprint_key)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None
    error = facts.probe_error
    if error and error["stage"] == "django":
        raise UsageError(f"{facts.python}: Django is not importable ({error['type']}: {error['message']}); "
                         "give the project's interpreter with --python (a .venv or venv beside the project is found by itself)")
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
    keys: dict = field(default_factory=dict)  # env fix -> the keys it planned


def plan_fixes(options: Options, transport: Transport, held: contextlib.ExitStack | None = None) -> Plan:
    """Audit under the production env, plan every fix in memory, probe under the planned env."""
    try:
        project = transport.project_path(options.project, DEMO_PROJECT)
    except TransportError as exc:
        raise UsageError(str(exc)) from None
    python = options.python or transport.default_python(project)
    if project == str(DEMO_PROJECT.resolve()) and not options.check:
        raise UsageError("the bundled demo is never changed in place: copy it with `invoke demo --dest DIR` "
                         "and pass --project DIR (or use --check)")
    if options.database_url:
        try:
            database.validate(options.database_url)
        except database.DatabaseUrlError as exc:
            raise UsageError(str(exc)) from None
    try:
        read = options.host_facts  # a fleet's set read them just before, over this connection
        host = read if read and read.get("root") == project else collect(project, python, None, transport)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None
    root = host["root"]
    if held is not None and not options.check:  # check mode writes nothing, not even a lock file
        held.enter_context(project_lock(transport, root, "fix-prod"))
    env_path, env, before_text = production_env(transport, host, options.env_file)
    inputs = Inputs(options.secrets_file, prompt=options.prompt and sys.stdin.isatty() and not options.check,
                    vault=options.vault)
    facts = probe(root, python, env_path, env.values, transport, host, options.fingerprint_key)
    if facts.git.dirty_files and not options.allow_dirty:
        raise UsageError(f"{root}: {facts.git.dirty_files} uncommitted file(s) in the work tree; commit them or pass --allow-dirty")

    checks: list = []
    run = FixRun(host=transport.name, project=str(root), check=options.check, before=run_checks(facts, checks))
    run.after_checks = checks
    run.after, run.after_facts = run.before, facts.to_dict()  # until something changes
    run.fingerprint_before = (facts.settings.get("SECRET_KEY") or {}).get("fingerprint")
    ctx = Context(options=options, transport=transport, facts=facts, env=env, env_path=env_path, inputs=inputs,
                  findings=run.before)
    plan = Plan(run, ctx, {}, repairs(), set(), python)
    plan_env_fixes(plan)

    def probe_env(values):
        return probe(root, python, env_path, values, transport, host, options.fingerprint_key)

    converged = converge(ctx, probe_env)
    if converged.holds and settings_failure(facts) is not None:
        # The env before did not import: the env fixes decided without Django's facts. Plan them
        # again on the planned env's facts (the same fixes, now informed), and probe once more.
        ctx.facts, ctx.findings = converged.facts, run_checks(converged.facts)
        probed = env.merged()
        plan_env_fixes(plan)
        if env.merged() != probed:
            converged = converge(ctx, probe_env, probes=converged.probes, done=converged.planned)
    ctx.planned, run.planned_probes = converged.facts, converged.probes
    if "DATABASE_URL" in converged.planned and plan.outcomes[database.NAME].status == NEEDS_INPUT:
        # the URL came from the person (--secrets, the environment, a prompt): as if --database-url
        ctx.options = options = replace(options, database_url=env.current("DATABASE_URL"))
        plan.outcomes[database.NAME] = database.plan(ctx)
    plan.outcomes[settings_env.NAME] = converged.outcome
    plan.secrets = secret_values(env.values) | secret_values(inputs.values) | secret_values(env.merged())
    reads = converged.facts.env_reads if converged.holds else None
    run.notes += [f"--secrets: {key} not written: " + ("the settings do not read it" if reads is not None and key not in reads
                                                       else "nothing in this run asks for it") for key in inputs.unused()]
    if not converged.holds:
        return stop(plan, "the settings do not hold under the planned env")
    refuse_rotation_without_fallbacks(plan)
    drop_unread(plan, reads)

    planned_ids = {f.id for f in run_checks(ctx.planned)}
    check_database(options, ctx.planned, plan.outcomes[database.NAME].action is not None, transport)

    plan.outcomes[security_flags.NAME], overlay = security_flags.plan(ctx, planned_ids)
    verify_env_fixes(plan.outcomes, planned_ids)
    for fix in ACTION_FIXES:
        plan.outcomes[fix.NAME] = fix.plan(ctx)
    plan.outcomes = ordered(plan.outcomes)
    plan.secrets |= secret_values(env.merged())
    env_change = FileChange("env", env_path, before_text, env.render(TEMPLATES, new=before_text is None), mode=0o600,
                            current_mode=transport.file_mode(env_path), env_file=True, description="production env file")
    run.changes = [c for c in (env_change, overlay, secret_key.record_change(ctx)) if c is not None]
    return plan


def refuse_rotation_without_fallbacks(plan: Plan) -> None:
    """A key moved into SECRET_KEY_FALLBACKS that the planned settings do not carry would log every
    user out: the key change is taken back (fail closed) and the fix says why."""
    env, planned = plan.ctx.env, plan.ctx.planned
    old, fallbacks = env.values.get("SECRET_KEY", ""), secret_key.split(env.current(secret_key.FALLBACKS))
    if env.current("SECRET_KEY") == old or not secret_key.strong(old) or old not in fallbacks:
        return
    if (planned.settings.get("SECRET_KEY") or {}).get("fallbacks") == len(fallbacks):
        return
    for key in ("SECRET_KEY", secret_key.FALLBACKS):
        env.changed.pop(key, None)
        env.added.pop(key, None)
    plan.outcomes[secret_key.NAME] = Outcome(
        FAILED, "SECRET_KEY not rotated: the settings do not read SECRET_KEY_FALLBACKS from the env, so sessions and "
                "signatures made with the old key would stop working; read it in the settings (e.g. "
                "SECRET_KEY_FALLBACKS = [k for k in os.environ.get('SECRET_KEY_FALLBACKS', '').split(',') if k]) "
                "and run again")


def plan_env_fixes(plan: Plan) -> None:
    """Plan each env fix in registry order, noting which keys each one sets.

    Planned a second time (on better facts), a fix that finds its own earlier values in place
    says ``ok``: its first outcome, ``changed``, stays the truth.
    """
    env = plan.ctx.env
    for fix in ENV_FIXES:
        before = {**env.changed, **env.added}
        outcome = fix.plan(plan.ctx)
        after = {**env.changed, **env.added}
        earlier = plan.outcomes.get(fix.NAME)
        if earlier is not None and earlier.status == CHANGED and outcome.status == OK:
            continue
        plan.outcomes[fix.NAME] = outcome
        plan.keys[fix.NAME] = sorted(set(plan.keys.get(fix.NAME, [])) |
                                     {k for k, v in after.items() if before.get(k) != v or k not in before})


def drop_unread(plan: Plan, reads: dict | None) -> None:
    """Never write a variable the settings do not read (as the probe recorded them); say so.

    ``reads`` None means the probe recorded nothing: unknown, so nothing is dropped.
    """
    if reads is None:
        return
    env = plan.ctx.env
    for name, keys in plan.keys.items():
        unread = [k for k in keys if k not in reads and k not in READ_BY_DJANGO and (k in env.added or k in env.changed)]
        if not unread:
            continue
        for key in unread:
            env.added.pop(key, None)
            env.changed.pop(key, None)
            plan.run.notes.append(f"{key} not written ({name}): the settings do not read it")
        outcome = plan.outcomes[name]
        if outcome.status == CHANGED and set(unread) >= {k for k in keys if k not in READ_BY_DJANGO}:
            plan.outcomes[name] = Outcome(OK, f"nothing written: the settings do not read {', '.join(unread)}")
        elif outcome.status == CHANGED:
            outcome.message += f"; not written, the settings do not read them: {', '.join(unread)}"


def stop(plan: Plan, reason: str) -> Plan:
    """The planned env does not hold: decide nothing from its missing facts, write nothing."""
    for fix in (security_flags, *ACTION_FIXES):
        if fix is git_push:
            plan.outcomes[fix.NAME] = fix.plan(plan.ctx)  # git facts do not depend on the settings
        else:
            plan.outcomes[fix.NAME] = Outcome(SKIPPED, f"could not decide: {reason}")
    hold(plan.outcomes, reason)
    plan.outcomes = ordered(plan.outcomes)
    plan.stopped = True
    return plan


def hold(outcomes: dict, reason: str) -> None:
    """Planned but not to be applied: no fix may claim ``changed``."""
    for name, outcome in outcomes.items():
        if outcome.status == CHANGED and name != settings_env.NAME:
            outcomes[name] = Outcome(SKIPPED, f"{outcome.message}: not applied, {reason}")


def ordered(outcomes: dict) -> dict:
    """Outcomes in the registry's order (the order of a run)."""
    order = [fix.NAME for fix in REGISTRY]
    return dict(sorted(outcomes.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def check_database(options: Options, planned, create_pending: bool, transport=None) -> None:
    """A --database-url that does not answer stops the run before anything is written (unless
    --create-database will create it at apply time)."""
    if not options.database_url or create_pending:
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
