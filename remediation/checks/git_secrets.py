"""Seed section 1, continued: secrets committed to git (the scan in remediation/secretscan/).

One finding per id (as every check), listing the files with their lines, short commits and rules,
never a value. Every one matters from staging on: a development checkout may hold its
own throwaway key.
"""

from __future__ import annotations

import posixpath

from ..findings import Location
from ..secretscan.rules import specific
from .base import CRITICAL, GIT_REPO, HIGH, LOW, MANUAL, MEDIUM, applies_when, finding_for

finding = finding_for("git")
SHOWN = 5  # places listed in one finding; the rest are counted


def scan_of(facts) -> dict | None:
    scan = getattr(facts, "secret_scan", None)
    return scan if isinstance(scan, dict) else None


def scanned(facts) -> bool:
    return (scan_of(facts) or {}).get("state") == "scanned"


SCANNED = (scanned, "the committed-secret scan did not run")


def location(facts, found: list[dict]) -> Location | None:
    """The first hit's file, relative to the project root (hits are relative to the repository's)."""
    first = next((h for h in found if h.get("path")), None)
    git_root = getattr(facts.git, "root", None)
    if first is None or not git_root:
        return None
    relative = posixpath.relpath(posixpath.join(str(git_root), first["path"]), str(facts.root))
    return None if relative.startswith("..") else Location(relative, first.get("line"))


def hits(facts, kind: str) -> list[dict]:
    scan = scan_of(facts)
    return [h for h in (scan or {}).get("hits") or [] if h.get("kind") == kind]


def by_path(found: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for hit in found:
        grouped.setdefault(hit.get("path") or "", []).append(hit)
    return grouped


def places(found: list[dict], with_line: bool = True, with_commit: bool = True) -> str:
    described = []
    for hit in found:
        where = []
        if with_line and hit.get("line"):
            where.append(f"line {hit['line']}")
        if with_commit and hit.get("commit"):
            where.append(f"commit {hit['commit']}")
        text = f"{hit['rule']}" + (f" ({', '.join(where)})" if where else "")
        if text not in described:
            described.append(text)
    return listed(described, ", ")


def listed(items: list[str], sep: str = "; ") -> str:
    more = len(items) - SHOWN
    return sep.join(items[:SHOWN]) + (f"{sep}and {more} more" if more > 0 else "")


def per_file(found: list[dict], **how) -> str:
    return listed([f"{path}: {places(hits, **how)}" for path, hits in sorted(by_path(found).items())])


def them(found: list[dict], one: str, many: str) -> str:
    return one if len(by_path(found)) == 1 else many


@applies_when(GIT_REPO)
def scan_error(facts):
    scan = scan_of(facts)
    if not scan or scan.get("state") != "error":
        return []
    return [finding(id="git.secret_scan_error", severity=LOW, title="The committed-secret scan failed",
                    detail=f"git could not be read for the scan: {scan.get('error')}", fix=MANUAL, applies_from="staging")]


@applies_when(GIT_REPO)
def scan_partial(facts):
    scan = scan_of(facts)
    if not scan or scan.get("state") != "scanned" or not scan.get("partial"):
        return []
    bounded = any("commits" in reason for reason in scan["partial"])
    hint = f" (set REMEDIATION_SECRET_SCAN_COMMITS to scan more than {scan.get('limit')} commits)" if bounded else ""
    return [finding(id="git.secret_scan_partial", severity=LOW, title="The committed-secret scan was partial",
                    detail="; ".join(scan["partial"]) + hint, fix=MANUAL, applies_from="staging")]


@applies_when(GIT_REPO, SCANNED)
def live_secret(facts):
    grouped: dict[str, list[dict]] = {}
    for hit in hits(facts, "live"):
        grouped.setdefault(hit.get("setting") or "a live secret", []).append(hit)
    if not grouped:
        return []
    leaked = [f"{setting} is committed in "
              + listed([f"{h['path'] or 'a commit message'} (commit {h['commit']})" for h in found], ", ")
              for setting, found in sorted(grouped.items())]
    return [finding(id="git.live_secret_in_history", severity=CRITICAL, title="A live secret is in git: rotate it",
                    detail="; ".join(leaked) + ("; anyone with the repository has it: rotate it" if len(leaked) == 1 else
                                                "; anyone with the repository has them: rotate them")
                           + " (a new value, then remove the old one from history) — for SECRET_KEY, fix-prod "
                             "--rotate-secret-key",
                    fix=MANUAL, applies_from="staging", location=location(facts, [h for f in grouped.values() for h in f]))]


@applies_when(GIT_REPO, SCANNED)
def secret_files(facts):
    found = hits(facts, "file")
    if not found:
        return []
    return [finding(id="git.secret_file_tracked", severity=HIGH, title="Secret files are tracked by git",
                    detail=f"{per_file(found, with_commit=False)}; untrack {them(found, 'it', 'them')} (git rm --cached), "
                           f"ignore {them(found, 'it', 'them')} in .gitignore and rotate what {them(found, 'it', 'they')} held",
                    fix=MANUAL, applies_from="staging", location=location(facts, found))]


@applies_when(GIT_REPO, SCANNED)
def secret_values(facts):
    """High for a provider's credential format, medium for a keyword or entropy guess."""
    found = hits(facts, "tree")
    if not found:
        return []
    return [finding(id="git.secret_in_tree", severity=HIGH if any(specific(h["rule"]) for h in found) else MEDIUM,
                    title="Secret-looking values are committed",
                    detail=f"{per_file(found, with_commit=False)}; move {them(found, 'it', 'them')} to the environment "
                           f"and rotate {them(found, 'it', 'them')}", fix=MANUAL, applies_from="staging",
                    location=location(facts, found))]


@applies_when(GIT_REPO, SCANNED)
def history_values(facts):
    found = hits(facts, "history")
    if not found:
        return []
    return [finding(id="git.secret_in_history", severity=MEDIUM, title="Secrets are left in the git history",
                    detail=f"{per_file(found)}; gone from HEAD, but the history still holds "
                           f"{them(found, 'it', 'them')}: rotate {them(found, 'it', 'them')}",
                    fix=MANUAL, applies_from="staging", location=location(facts, found))]


@applies_when(GIT_REPO, SCANNED)
def message_values(facts):
    found = hits(facts, "message")
    if not found:
        return []
    return [finding(id="git.secret_in_commit_message", severity=MEDIUM, title="A secret-looking value in a commit message",
                    detail=f"{places(found, with_line=False)}; rotate it (a message cannot be changed without "
                           f"rewriting history)", fix=MANUAL, applies_from="staging")]


CHECKS = (scan_error, scan_partial, live_secret, secret_files, secret_values, history_values, message_values)
