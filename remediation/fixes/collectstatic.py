"""collectstatic into STATIC_ROOT with --noinput, reporting how many files it copied."""

from __future__ import annotations

import re

from ..changes import ChangeFailed
from ..manage import last_error_line, manage
from .base import CHANGED, OK, Outcome

NAME = "collectstatic"
REPAIRS = ("django.static_not_collected",)


def plan(ctx) -> Outcome:
    facts = ctx.planned or ctx.facts
    static = facts.probe.get("static") or {}
    if not static.get("static_root") or not static.get("missing"):
        return Outcome(OK, "static files collected")
    return Outcome(CHANGED, f"collect {static['missing']} missing file(s) into STATIC_ROOT",
                   action=lambda: collect(ctx, facts), action_label="collectstatic")


def collect(ctx, facts) -> str:
    env = ctx.env.merged()
    result = manage(ctx.transport, facts.python, str(facts.manage_dir), env, "collectstatic", "--noinput")
    if result.returncode != 0:
        raise ChangeFailed(f"collectstatic failed: {last_error_line(result, env)}")
    match = re.search(r"(\d+) static files? copied", result.stdout)
    return f"{match.group(1) if match else 0} static file(s) copied"
