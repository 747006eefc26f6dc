"""collectstatic into STATIC_ROOT with --noinput, reporting how many files it copied."""

from __future__ import annotations

import re

from ..changes import ChangeFailed
from ..manage import last_error_line, manage
from .base import CHANGED, FAILED, OK, SKIPPED, Outcome

NAME = "collectstatic"
REPAIRS = ("django.static_not_collected",)


def plan(ctx) -> Outcome:
    facts = ctx.planned or ctx.facts
    static = facts.probe.get("static")
    if not static:
        return Outcome(SKIPPED, "could not decide: the probe gathered no static files facts")
    if static.get("error"):
        error = static["error"]
        return Outcome(FAILED, f"could not decide: the staticfiles finders raise {error['type']}: {error['message']}"
                               f" at {error['where']}")
    if not static.get("enabled"):
        return Outcome(OK, "django.contrib.staticfiles is not installed")
    if not static.get("static_root"):
        return Outcome(SKIPPED, "STATIC_ROOT is not set: nowhere to collect to")
    if not static.get("missing"):
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
