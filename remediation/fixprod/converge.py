"""Converge the planned env before anything is written.

Probe the project under the planned env; while its settings raise and the error names an
environment variable, plan that variable (a person's value from --secrets FILE or the
environment, else one derived from --domain, else a prompt) and probe again, at most
``MAX_PROBES`` times. What cannot be supplied is ``needs input`` with the variable and the
settings ``file:line``; an error naming no variable is quoted as it is. A planned env under
which Django's check framework reports a new error (any app's ``E`` id) is caught here too,
quoting the error, not its hint. Nothing is written while the planned env does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..fixes import settings_env
from ..fixes.base import CHANGED, FAILED, NEEDS_INPUT, OK, Outcome, set_env

ERROR_LEVEL = 40  # django.core.checks.ERROR


def settings_failure(facts) -> dict | None:
    """The probe's error when the settings did not import (or no settings came back), else None."""
    error = facts.probe_error
    if error and error.get("stage") in ("settings", "setup", "probe"):
        return error
    if not facts.settings:
        return {"stage": "probe", "type": "NoSettings", "message": "the probe returned no settings", "where": None}
    return None


def quoted(error: dict) -> str:
    where = f" at {error['where']}" if error.get("where") else ""
    return f"{error['type']}: {error['message']}{where}"


def env_reads(facts) -> dict | None:
    """The variables the settings read (the probe's recording), or None when not recorded."""
    reads = getattr(facts, "env_reads", None)
    return reads if isinstance(reads, dict) else None


@dataclass
class Converged:
    facts: object  # Facts under the planned env (the last probe)
    probes: int  # planned-env probes made
    outcome: Outcome  # the settings_env result
    holds: bool  # the settings import under the planned env and Django reports no new error
    planned: dict = field(default_factory=dict)  # variable -> how it was planned (supplied, from --domain, ...)


def converge(ctx, probe_env, probes: int = 0, done: dict | None = None) -> Converged:
    """Probe under ``ctx.env`` (``probe_env(values) -> Facts``) until it imports or cannot.

    ``probes`` and ``done`` carry on from an earlier convergence of the same run.
    """
    env = ctx.env
    if env.changed or env.added or probes:
        planned, probes = probe_env(env.merged()), probes + 1
    else:
        planned = ctx.facts
    done = dict(done or {})
    while (error := settings_failure(planned)) is not None:
        name = settings_env.named_variable(error, env_reads(planned))
        if name is None:
            return Converged(planned, probes, Outcome(
                FAILED, f"the settings raise under the production env and name no variable: {quoted(error)}; "
                        "nothing written"), False, done)
        if name in done or probes >= settings_env.MAX_PROBES:
            return Converged(planned, probes, Outcome(
                NEEDS_INPUT, f"the settings still raise under the production env: {quoted(error)}; "
                             f"supply {name} (--secrets FILE, the environment or a prompt); nothing written",
                needs=[name]), False, done)
        value, how = ctx.inputs.given(name), "supplied"
        if not value:
            value, how = settings_env.derive(name, env.current(name), clean_domains(ctx.options.domains))
        if value is None and ctx.inputs.prompt:
            value, how = ctx.inputs.get(name), "supplied"
        if value is None or not set_env(ctx, {name: value}):
            flag = "--domain" if "pass --domain" in how else settings_env.FLAGS.get(name)
            ask = "pass --domain" if flag == "--domain" else \
                f"supply it ({flag + ', ' if flag else ''}--secrets FILE, the environment or a prompt)"
            return Converged(planned, probes, Outcome(
                NEEDS_INPUT, f"the settings need {name} under the production env ({quoted(error)}): {ask}; "
                             "nothing written", needs=[flag if flag == "--domain" else name]), False, done)
        done[name] = how
        planned, probes = probe_env(env.merged()), probes + 1
    errors = new_check_errors(ctx.facts, planned)
    if errors:
        shown = "; ".join(f"{m['id']}: {m['msg']}" for m in errors)
        return Converged(planned, probes, Outcome(
            FAILED, f"under the planned env Django's checks report {shown}; nothing written"), False, done)
    if done:
        return Converged(planned, probes, Outcome(
            CHANGED, "the settings import under the planned env; set " +
                     ", ".join(f"{k} ({how})" for k, how in done.items())), True, done)
    return Converged(planned, probes, Outcome(OK, "the settings import under the planned env"), True, done)


def new_check_errors(before, planned) -> list[dict]:
    """Errors of Django's check framework under the planned env that the env before did not have."""
    seen = {(m["id"], m["msg"]) for m in before.checks.get("messages", [])}
    return [m for m in planned.checks.get("messages", [])
            if (m.get("level") or 0) >= ERROR_LEVEL and (m["id"], m["msg"]) not in seen]


def clean_domains(domains) -> list[str]:
    return [d.strip().lower() for d in domains or () if d.strip()]
