"""The commit a deploy ships, as one tar built on the controller (issue 9, items 1 and 2).

``resolve`` names the commit (GitPython) and refuses one that is not pushed: a release must be
reproducible by anyone from the remote, never from this machine's working copy. ``build`` exports
exactly that commit's tree with ``git archive`` (a dirty working copy changes nothing), reads the
Django facts a deploy needs from the export, and builds the front end once, here, so that hosts
need no Node: ``npm ci && npm run build`` in a throwaway export, its output added to the tar.

By hand only what no library does: which files the build produced (a snapshot of the export before
and after, so vite's ``dist/``, CRA's ``build/`` or an ``outDir`` inside the tree are all found)
and flattening ``-r`` includes of the requirements file into the one text the host installs.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

from .. import hostfacts
from ..facts import ProjectError, find_manage_dir
from ..masking import strip_userinfo
from ..runner import UsageError

FRONTEND_DIRS = ("", "frontend")  # where a package.json makes a front end: the root, or frontend/
SKIP_WALK = {"node_modules", ".git"}
THROWN = re.compile(r"^(?:[A-Z]\w*)?Error: ")  # node's uncaught Error:, TypeError: ...
ERROR = re.compile(r"\berror\b", re.I)  # tsc's "error TS2304", vite's "error during build:"
NPM_TIMEOUT = 1800
NPM_ENV = {"npm_config_audit": "false", "npm_config_fund": "false", "npm_config_update_notifier": "false",
           "npm_config_progress": "false"}


@dataclass(frozen=True)
class Commit:
    sha: str
    short: str
    ref: str  # as the person named it ("HEAD" when none was named)
    branch: str | None  # the local branch, when the ref is one (or HEAD is on one)
    subject: str
    author: str
    pushed_to: str  # a remote-tracking branch that contains the commit, e.g. origin/main
    dirty: bool  # the working copy differs from HEAD: said on screen, never deployed
    root: str  # the repository's top folder
    prefix: str  # the project's folder inside the repository ("" at the top)


@dataclass(frozen=True)
class Bundle:
    path: str  # the tar on the controller
    sha: str
    manage_rel: str  # the manage.py folder relative to the project root ("" or "backend")
    requirements_path_rel: str
    requirements_text: str  # with -r includes inlined: what the host's venv installs
    frontend: str  # "built" | "none" | "skipped: <why>"
    size: int
    frontend_files: tuple[str, ...] = ()  # what the build added, relative to the project root


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _repo(project: str) -> tuple[git.Repo, str]:
    path = Path(project).expanduser()
    if not path.is_dir():
        raise UsageError(f"{project}: no such directory")
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{project}: not a git checkout (a deploy ships a pushed commit)") from None
    if repo.bare or repo.working_tree_dir is None:
        raise UsageError(f"{project}: a bare repository; name a checkout")
    prefix = os.path.relpath(path.resolve(), Path(repo.working_tree_dir).resolve())
    return repo, "" if prefix == "." else prefix.replace(os.sep, "/")


def resolve(project: str, ref: str | None = None) -> Commit:
    """The commit ``ref`` names (default: HEAD of the current branch), refused unless pushed.

    "Pushed" is ``git branch -r --contains``: a remote-tracking branch as last fetched contains it.
    Nothing is fetched here (no network); a stale remote-tracking branch errs on refusing."""
    repo, prefix = _repo(project)
    named = ref or "HEAD"
    if named.startswith("-") or not named.strip():
        raise UsageError(f"{named}: not a ref")
    try:
        sha = repo.git.rev_parse("--verify", "--quiet", f"{named}^{{commit}}").strip()
    except git.GitCommandError:
        if ref is None:
            raise UsageError(f"{project}: no commit yet (commit and push first)") from None
        raise UsageError(f"{ref}: no such branch, tag or commit in {repo.working_tree_dir}") from None
    commit = repo.commit(sha)
    branch = None
    if ref is None:
        branch = None if repo.head.is_detached else repo.active_branch.name
    elif ref in repo.heads:
        branch = ref
    remotes = [line.strip() for line in repo.git.branch("-r", "--contains", sha).splitlines()]
    remotes = [name for name in remotes if name and " -> " not in name]  # origin/HEAD -> origin/main
    if not remotes:
        raise UsageError(f"{ref or branch or named} ({sha[:7]}) is not pushed: "
                         "push it first (git push) or name a pushed ref")
    upstream = None
    if branch:
        tracking = repo.heads[branch].tracking_branch()
        upstream = tracking.name if tracking is not None else None
    dirty = repo.is_dirty(untracked_files=True, path=prefix or None)
    return Commit(sha=sha, short=sha[:7], ref=named, branch=branch, subject=commit.summary,
                  author=commit.author.name, pushed_to=upstream if upstream in remotes else remotes[0],
                  dirty=dirty, root=str(repo.working_tree_dir), prefix=prefix)


# --- the tar ------------------------------------------------------------------------------------


def build(project: str, commit: Commit, dest_dir: str, frontend: str = "auto") -> Bundle:
    """The commit's tree as ``dest_dir/<sha>.tar`` (written whole or not at all), with the front end
    built into it; ``frontend="skip"`` ships the tree as committed."""
    if frontend not in ("auto", "skip"):
        raise UsageError(f"frontend={frontend}: expected auto or skip")
    repo, _ = _repo(project)
    os.makedirs(dest_dir, exist_ok=True)
    final = os.path.join(dest_dir, f"{commit.sha}.tar")
    treeish = f"{commit.sha}:{commit.prefix}" if commit.prefix else commit.sha
    with tempfile.TemporaryDirectory(prefix=".export-", dir=dest_dir) as work:
        plain = os.path.join(work, "commit.tar")
        with open(plain, "wb") as handle:
            repo.archive(handle, treeish=treeish, format="tar")
        export = os.path.join(work, "tree")
        with tarfile.open(plain) as tar:
            tar.extractall(export, filter="tar")  # git's own names: no absolute paths, no ..
        try:
            manage_rel = os.path.relpath(find_manage_dir(Path(export)), export)
        except ProjectError as exc:
            raise UsageError(f"commit {commit.short}: {str(exc).removeprefix(export + ': ')}") from None
        manage_rel = "" if manage_rel == "." else manage_rel
        requirements_rel, requirements_text = read_requirements(export, manage_rel, commit.short)
        state, added, removed = build_frontend(export, frontend)
        temp = os.path.join(work, "bundle.tar")
        write_bundle(plain, export, added, removed, temp)
        os.replace(temp, final)
    return Bundle(path=final, sha=commit.sha, manage_rel=manage_rel, requirements_path_rel=requirements_rel,
                  requirements_text=requirements_text, frontend=state, size=os.path.getsize(final),
                  frontend_files=tuple(added))


def write_bundle(plain: str, export: str, added: list[str], removed: list[str], dest: str) -> None:
    """git's tar as it is, or (after a build) its members minus those the build replaced or
    deleted, plus the output, owned by root and with git's modes, as ``git archive`` writes them."""
    if not added and not removed:
        shutil.copyfile(plain, dest)
        return
    dropped = set(added) | set(removed)
    with tarfile.open(plain) as source, tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as out:
        folders = set()
        for member in source:
            name = member.name.rstrip("/")
            if name in dropped:
                continue
            folders.update([name] if member.isdir() else [])
            out.addfile(member, source.extractfile(member) if member.isfile() else None)
        for rel in added:
            parents = [posixpath.join(*rel.split("/")[:n]) for n in range(1, rel.count("/") + 1)]
            for folder in (p for p in parents if p not in folders):
                folders.add(folder)
                out.add(os.path.join(export, folder), arcname=folder, recursive=False, filter=_as_git)
            out.add(os.path.join(export, rel), arcname=rel, recursive=False, filter=_as_git)


def _as_git(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = 0o755 if info.isdir() or info.mode & 0o100 else 0o644
    return info


def read_requirements(export: str, manage_rel: str, short: str) -> tuple[str, str]:
    """The first requirements file the audit would read (the root, then the manage.py folder), with
    ``-r`` includes inlined so that the host needs one file and the venv's hash covers them all."""
    for folder in dict.fromkeys(("", manage_rel)):
        for name in hostfacts.REQUIREMENT_FILES:
            rel = posixpath.join(folder, name) if folder else name
            if os.path.isfile(os.path.join(export, rel)):
                return rel, _flatten(export, rel, short, set())
    raise UsageError(f"{short}: no requirements file ({', '.join(hostfacts.REQUIREMENT_FILES)}) in the project "
                     f"or {manage_rel or 'its manage.py folder'}")


def _flatten(export: str, rel: str, short: str, seen: set[str]) -> str:
    if rel in seen:
        return ""
    seen.add(rel)
    path = os.path.realpath(os.path.join(export, rel))
    if not path.startswith(os.path.realpath(export) + os.sep) or not os.path.isfile(path):
        raise UsageError(f"{short}: {rel}: no such requirements file in the commit")
    lines = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split(None, 1)
        if len(words) == 2 and words[0] in ("-r", "--requirement"):
            lines.append(_flatten(export, posixpath.normpath(posixpath.join(posixpath.dirname(rel), words[1].strip())),
                                  short, seen).rstrip("\n"))
        elif line.startswith(("-r", "--requirement=")):
            target = line[2:] if line.startswith("-r") else line.split("=", 1)[1]
            lines.append(_flatten(export, posixpath.normpath(posixpath.join(posixpath.dirname(rel), target.strip())),
                                  short, seen).rstrip("\n"))
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


# --- the front end ------------------------------------------------------------------------------


def find_frontend(export: str) -> tuple[str, dict] | None:
    """The folder (relative) of the first package.json with a build script, and its JSON."""
    for folder in FRONTEND_DIRS:
        package = os.path.join(export, folder, "package.json")
        if not os.path.isfile(package):
            continue
        try:
            data = json.loads(Path(package).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"{posixpath.join(folder, 'package.json')}: not JSON ({_one_line(exc, 120)})") from None
        if isinstance(data, dict) and isinstance(data.get("scripts"), dict) and data["scripts"].get("build"):
            return folder, data
    return None


def build_frontend(export: str, mode: str) -> tuple[str, list[str], list[str]]:
    """``npm ci && npm run build`` in the export; (state, files the build added or changed, files
    it deleted)."""
    found = find_frontend(export)
    if found is None:
        return "none", [], []
    folder, _ = found
    label = posixpath.join(folder, "package.json")
    if not os.path.isfile(os.path.join(export, folder, "package-lock.json")):
        if mode == "skip":
            return "skipped: no lockfile", [], []
        raise UsageError(f"{label} has no package-lock.json: commit one (npm install) so the build is "
                         "reproducible, or skip the front end (--frontend skip)")
    if mode == "skip":
        return "skipped: asked", [], []
    npm = shutil.which("npm")
    if npm is None:
        raise UsageError(f"{label}: npm is not installed on this machine (the front end is built here, once)")
    before = snapshot(export)
    cwd = os.path.join(export, folder)
    for step in (["ci"], ["run", "build"]):
        _npm(npm, step, cwd, label)
    after = snapshot(export)
    added = sorted(rel for rel, stamp in after.items() if before.get(rel) != stamp)
    if not added:
        raise UsageError(f"{label}: npm run build wrote no files in the tree")
    return "built", added, sorted(set(before) - set(after))


def _npm(npm: str, step: list[str], cwd: str, label: str) -> None:
    what = "npm " + " ".join(step)
    try:
        done = subprocess.run([npm, *step], cwd=cwd, capture_output=True, text=True, timeout=NPM_TIMEOUT,
                              env={**os.environ, **NPM_ENV}, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UsageError(f"{label}: {what} did not finish within {NPM_TIMEOUT}s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
        # The cause (a thrown Error, tsc's "error TS..."), then the last lines; npm's own "npm error"
        # lines only say that the script failed.
        thrown = [line for line in lines if THROWN.match(line)]
        causes = [n for n, line in enumerate(lines) if ERROR.search(line) and not line.startswith("npm error")]
        picked = thrown[:1] or (lines[causes[0]:causes[0] + 2] if causes else [])  # vite: the reason is next
        tail = " | ".join(strip_userinfo(line) for line in dict.fromkeys(picked + lines[-3:]))
        raise UsageError(f"{label}: {what} failed: {_one_line(tail or f'exit status {done.returncode}', 500)}")


def snapshot(root: str) -> dict[str, tuple]:
    """Relative path -> (size, mtime, kind) of every file and symlink below root, node_modules aside."""
    found = {}
    for folder, dirs, files in os.walk(root):
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]  # listed, never entered
        dirs[:] = [d for d in dirs if d not in SKIP_WALK and d not in links]
        for name in files + links:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            found[os.path.relpath(path, root).replace(os.sep, "/")] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return found
