"""Reading a repository for the scan with the ``git`` command, through the transport.

Everything goes through ``Transport.run`` so that a project on an SSH host is read exactly as a
local one, and the text is scanned on the controller. Content comes as patches (``git log -p``
for history, ``git diff-tree`` against the empty tree for HEAD's files) rather than raw blobs:
patches are text with line numbers, git itself leaves out binary files ("Binary files differ")
and, with ``core.bigFileThreshold``, files over the size bound, and a commit's patch holds only
the lines it added, so a file changed in 500 commits is not read 500 times whole.
Written by hand: GitPython reaches only this machine's repositories.
"""

from __future__ import annotations

import re

from ..transport import TransportError

GIT = ["git", "-c", "core.quotepath=off", "-c", "core.bigFileThreshold=1m", "-c", "diff.noprefix=false",
       "-c", "diff.relative=false", "-c", "log.showSignature=false"]
PATCH = ["-p", "-U0", "--raw", "--no-abbrev", "--full-index", "--no-renames", "--no-color", "--no-ext-diff",
         "--no-textconv", "--submodule=short"]
EMPTY_TREES = {40: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
               64: "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"}
TIMEOUT = 300
HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
SUBMODULE = "160000"


class GitError(Exception):
    """git could not be run or failed: one line for the report."""


def run(transport, root: str, args: list[str], input: str | None = None) -> tuple[int, str, str]:
    try:
        result = transport.run([*GIT, *args], cwd=root, input=input, timeout=TIMEOUT)
    except TransportError as exc:
        raise GitError(str(exc)) from None
    return result.returncode, result.stdout, result.stderr


def last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no message"])[-1][:200]


def locate(transport, root: str) -> tuple[str | None, str | None]:
    """(top folder, HEAD commit): (None, None) outside a repository, (top, None) before the first commit."""
    code, out, err = run(transport, root, ["rev-parse", "--show-toplevel", "--verify", "-q", "HEAD^{commit}"])
    lines = out.splitlines()
    if code == 0 and len(lines) == 2:
        return lines[0], lines[1]
    if code == 1 and len(lines) == 1:
        return lines[0], None
    if "not a git repository" in err:
        return None, None
    raise GitError(f"git rev-parse failed: {last_line(err)}")


def commits(transport, top: str, limit: int) -> list[str]:
    """Up to ``limit`` commits reachable from HEAD, newest first (with one more to tell a bound was hit)."""
    code, out, err = run(transport, top, ["rev-list", f"--max-count={limit}", "HEAD", "--"])
    if code != 0:
        raise GitError(f"git rev-list failed: {last_line(err)}")
    return out.split()


def tree(transport, top: str) -> list[tuple[str, str, str, int | None, str]]:
    """HEAD's tracked files: (mode, type, blob, size or None, path)."""
    code, out, err = run(transport, top, ["ls-tree", "-r", "-z", "-l", "--full-tree", "HEAD"])
    if code != 0:
        raise GitError(f"git ls-tree failed: {last_line(err)}")
    entries = []
    for record in out.split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, blob, size = meta.split()
        entries.append((mode, kind, blob, int(size) if size.isdigit() else None, path))
    return entries


def history(transport, top: str, shas: list[str]) -> tuple[dict, int]:
    """{commit: (message, {path: [(line, text)]}, [(status, path)])} for ``shas`` and the size of git's answer."""
    fmt = "--format=%x00%H%x00%B%x00"
    code, out, err = run(transport, top, ["log", "--no-walk=unsorted", "--stdin", fmt, *PATCH], input="\n".join(shas) + "\n")
    if code != 0:
        raise GitError(f"git log failed: {last_line(err)}")
    parts = out.split("\0")
    found = {}
    for index in range(1, len(parts) - 2, 3):
        sha, message, body = parts[index], parts[index + 1], parts[index + 2]
        files, changed = parse_patch(body)
        found[sha] = (message, files, changed)
    return found, len(out)


def head_files(transport, top: str, head: str, paths: list[str] | None) -> dict:
    """{path: (blob, [(line, text)])} of HEAD's text files (all of them, or ``paths``)."""
    empty = EMPTY_TREES.get(len(head), EMPTY_TREES[40])
    spec = ["--", *(f":(literal){p}" for p in paths)] if paths is not None else []
    code, out, err = run(transport, top, ["diff-tree", "-r", *PATCH, empty, head, *spec])
    if code != 0:
        raise GitError(f"git diff-tree failed: {last_line(err)}")
    files, changed = parse_patch(out, with_blobs=True)
    return files


def parse_patch(text: str, with_blobs: bool = False):
    """The added lines per path of one ``--raw -p -U0`` patch, and the (status, path) of each change.

    Paths come from the raw lines, matched to the patch by the new blob's sha (patch headers quote
    and prefix paths ambiguously); submodules are left out."""
    paths_by_blob: dict[str, list[str]] = {}
    changed = []
    files: dict = {}
    current = None
    remaining_old = remaining_new = 0
    number = 0
    for line in text.split("\n"):
        if remaining_old or remaining_new:
            if line.startswith("+"):
                current.append((number, line[1:]))
                number += 1
                remaining_new -= 1
            elif line.startswith("-"):
                remaining_old -= 1
            continue
        if line.startswith(":") and "\t" in line and current is None:
            meta, _, path = line.partition("\t")
            fields = meta.split()
            if len(fields) >= 5 and fields[1] != SUBMODULE:
                path = unquote(path)
                changed.append((fields[4][:1], path))
                paths_by_blob.setdefault(fields[3], []).append(path)
        elif line.startswith("diff --git "):
            current = []  # until the index line names the file
        elif line.startswith("index ") and current is not None and ".." in line:
            blob = line[6:].split("..", 1)[1].split()[0]
            names = paths_by_blob.get(blob) or []
            current = []
            if names:
                path = names.pop(0)
                files[path] = (blob, current) if with_blobs else current
        else:
            match = HUNK.match(line)
            if match and current is not None:
                remaining_old = int(match.group(1)) if match.group(1) is not None else 1
                number = int(match.group(2))
                remaining_new = int(match.group(3)) if match.group(3) is not None else 1
    return files, changed


ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(path: str) -> str:
    """A path as git quotes it (C style, octal bytes) back to the path."""
    if not (len(path) >= 2 and path[0] == '"' and path[-1] == '"'):
        return path
    body, out, index = path[1:-1], bytearray(), 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            if following in "01234567" and index + 3 < len(body) + 1:
                out.append(int(body[index + 1:index + 4], 8) & 0xFF)
                index += 4
                continue
            out.append(ESCAPES.get(following, ord(following) if ord(following) < 128 else 63))
            index += 2
            continue
        out += char.encode("utf-8", "surrogateescape")
        index += 1
    return out.decode("utf-8", "replace")
