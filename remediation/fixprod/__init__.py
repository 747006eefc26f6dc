"""fix-prod for one host: audit under the production env, plan every fix, apply, audit again.

    facts (production env) -> plan env fixes (in memory) -> probe under the planned env
      -> security flags (env or settings overlay) -> plan actions (migrate, copy, static, push)
      -> [--check stops here] -> write files atomically -> run actions -> audit again

One module per job: ``planning`` (everything up to --check; writes nothing), ``applying`` (files,
actions, the audit after), ``inputs`` (what a person supplies), ``run`` (what a run produced).
The fixes and which findings each repairs are in the registry, ``remediation.fixes``.
"""

from __future__ import annotations

import contextlib

from ..fixes.base import Options, Outcome
from ..transport import Local, Transport
from .applying import apply_plan, results
from .inputs import Inputs
from .planning import Plan, plan_fixes, probe, production_env
from .run import FIXED, NEW, STILL_OPEN, FixResult, FixRun

__all__ = ["FIXED", "NEW", "STILL_OPEN", "FixResult", "FixRun", "Inputs", "Options", "Outcome", "Plan", "apply_plan",
           "fix_prod", "plan_fixes", "probe", "production_env"]


def fix_prod(options: Options, transport: Transport | None = None) -> tuple[FixRun, set[str]]:
    """Run fix-prod on one project; returns the run and the secret values no output may hold."""
    with contextlib.ExitStack() as held:  # the project's lock, from planning to the audit after (lock.py)
        plan = plan_fixes(options, transport or Local(), held)
        if not (options.check or plan.stopped):
            apply_plan(plan)
    plan.run.fixes = results(plan.outcomes, plan.repairs)
    return plan.run, plan.secrets
