"""Push unpushed commits, only with --push (GitPython); never by default."""

from __future__ import annotations

from ..changes import ChangeFailed
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
    from ..transport import Local

    facts = ctx.facts.git
    if not isinstance(ctx.transport, Local):  # GitPython cannot reach a remote work tree: its git command can
        result = ctx.transport.run(["git", "push", "--porcelain", "-u", facts.remote, f"{facts.branch}:{facts.branch}"],
                                   cwd=facts.root, timeout=300)
        if result.returncode != 0:
            raise ChangeFailed(f"git push to {facts.remote} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
        return f"pushed {facts.branch} to {facts.remote}"
    import git

    repo = git.Repo(facts.root)
    try:
        infos = repo.remote(facts.remote).push(refspec=f"{facts.branch}:{facts.branch}", set_upstream=True)
    except git.GitCommandError as exc:
        raise ChangeFailed(f"git push to {facts.remote} failed: {str(exc.stderr).strip().splitlines()[-1:]}") from None
    failed = [info for info in infos if info.flags & info.ERROR]
    if failed:
        raise ChangeFailed(f"git push to {facts.remote} rejected: {failed[0].summary.strip()}")
    return f"pushed {facts.branch} to {facts.remote}"
