"""Applying a plan: write the files (atomically, each backed up), run the actions in registry
order, audit again. A failure while writing restores the files this run wrote; an action that
fails skips the actions after it."""

from __future__ import annotations

from ..changes import ChangeFailed, RunRecord, prune_runs
from ..checks import run_checks
from ..envfile import EnvDocument
from ..fixes import ACTION_FIXES, ENV_FIXES
from ..fixes.base import CHANGED, FAILED, SKIPPED, Outcome
from ..rollback import restore_files
from .planning import Plan, probe
from .run import FixResult, abandon


def apply_plan(plan: Plan) -> None:
    """Write the files (atomically, backed up), run the actions in order, audit again."""
    ctx, run, outcomes, transport = plan.ctx, plan.run, plan.outcomes, plan.ctx.transport
    ctx.record = RunRecord(transport, run.project)
    run.run_id = ctx.record.run_id
    for fix in ENV_FIXES:  # what must exist before the files point at it: the database
        outcome = outcomes[fix.NAME]
        if outcome.action is None:
            continue
        try:
            outcome.message += f"; {outcome.action()}"
        except ChangeFailed as exc:
            outcomes[fix.NAME] = Outcome(FAILED, f"{exc}; nothing else was changed")
            abandon(outcomes, f"{fix.NAME} failed")
            return
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
        after = probe(run.project, plan.python, ctx.env_path, written, transport, fingerprint_key=ctx.options.fingerprint_key)
        run.after_checks = []
        run.after, run.after_facts = run_checks(after, run.after_checks), after.to_dict()
    prune_runs(transport, run.project)


def results(outcomes: dict, repairs: dict) -> list[FixResult]:
    return [FixResult(name, o.status, o.message, tuple(repairs.get(name, ())), list(o.needs)) for name, o in outcomes.items()]
