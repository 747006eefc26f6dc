"""Seed section 1: the working tree, the branch and what has not reached the remote."""

from .base import GIT_READ, GIT_REPO, HIGH, LOW, MANUAL, MEDIUM, applies_when, finding_for

finding = finding_for("git")
HAS_UPSTREAM = (lambda facts: bool(facts.git.upstream), "the branch tracks no upstream")


def not_a_repository(facts):
    if facts.git.is_repo:
        return []
    return [finding(id="git.not_repo", severity=LOW, title="Not a git repository",
                    detail=f"{facts.root} is not inside a git work tree; releases cannot be traced to a commit",
                    fix=MANUAL, applies_from="staging")]


def unreadable(facts):
    if not facts.git.error:
        return []
    return [finding(id="git.error", severity=LOW, title="Git state could not be read",
                    detail=facts.git.error, fix=MANUAL, applies_from="staging")]


@applies_when(GIT_REPO)
def dirty_tree(facts):
    if not facts.git.is_repo or not facts.git.dirty_files:
        return []
    return [finding(id="git.dirty", severity=MEDIUM, title="Uncommitted changes",
                    detail=f"{facts.git.dirty_files} file(s) changed or untracked under {facts.root.name}/",
                    fix=MANUAL, applies_from="staging")]


@applies_when(GIT_REPO, GIT_READ)
def detached_head(facts):
    if not facts.git.is_repo or facts.git.branch or facts.git.error or not facts.git.head:
        return []
    return [finding(id="git.detached", severity=LOW, title="Detached HEAD",
                    detail=f"HEAD is at {facts.git.head[:12]}, on no branch", fix=MANUAL, applies_from="staging")]


@applies_when(GIT_REPO, GIT_READ)
def no_remote(facts):
    if not facts.git.is_repo or facts.git.remote or facts.git.error:
        return []
    return [finding(id="git.no_remote", severity=MEDIUM, title="No remote configured",
                    detail="the repository has no remote to push to or deploy from",
                    fix=MANUAL, applies_from="staging")]


@applies_when(GIT_REPO, GIT_READ)
def no_upstream(facts):
    git = facts.git
    if not git.is_repo or not git.branch or not git.remote or git.upstream or git.error:
        return []
    return [finding(id="git.no_upstream", severity=MEDIUM, title="Branch has no upstream",
                    detail=f"branch {git.branch} tracks nothing on {git.remote}; its commits are on this machine only",
                    fix="git_push", applies_from="staging")]


@applies_when(GIT_REPO, HAS_UPSTREAM)
def unpushed_commits(facts):
    git = facts.git
    if not git.upstream or not git.ahead:
        return []
    return [finding(id="git.unpushed", severity=HIGH, title="Commits not pushed",
                    detail=f"{git.ahead} commit(s) on {git.branch} not pushed to {git.upstream} ({git.remote_url})",
                    fix="git_push", applies_from="staging")]


@applies_when(GIT_REPO, HAS_UPSTREAM)
def behind_upstream(facts):
    git = facts.git
    if not git.upstream or not git.behind:
        return []
    return [finding(id="git.behind", severity=LOW, title="Branch behind its upstream",
                    detail=f"{git.behind} commit(s) on {git.upstream} not in {git.branch}",
                    fix=MANUAL, applies_from="staging")]


CHECKS = (not_a_repository, unreadable, dirty_tree, detached_head, no_remote, no_upstream, unpushed_commits, behind_upstream)
