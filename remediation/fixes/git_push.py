"""Push unpushed commits, only with --push (GitPython); never by default."""

from __future__ import annotations

from ..changes import ChangeFailed
from ..transport import TransportError
from .base import CHANGED, OK, SKIPPED, Outcome

NAME = "git_push"
REPAIRS = ("git.unpushed", "git.no_upstream")


def plan(ctx) -> Outcome:
    git = ctx.facts.git
    if not git.is_repo or not git.branch or not git.remote:
        return Outcome(OK, "nothing to push")
    pending = git.ahead if git.upstream else None
    if git.upstream and not pending:
        return Outcome(OK, f"{git.branch} is pushed to {git.upstream}")
    what = f"{pending} commit(s) of {git.branch}" if pending else f"{git.branch} (no upstream yet)"
    if not ctx.options.push:
        return Outcome(SKIPPED, f"{what} not pushed: pass --push to push to {git.remote}")
    return Outcome(CHANGED, f"push {what} to {git.remote}", action=lambda: push(ctx), action_label="git push")


def push(ctx) -> str:
    """On the project's host, the way its transport can (GitPython here, the git command remotely)."""
    facts = ctx.facts.git
    try:
        return ctx.transport.git_push(facts.root, facts.remote, facts.branch)
    except TransportError as exc:
        raise ChangeFailed(str(exc)) from None
