"""One virtualenv per requirements content on the host, shared by every release that has them
(issue 9, item 2): a deploy whose requirements did not change creates nothing.

``DEPLOY_TO/venvs/<hash>/`` where the hash covers the normalized requirements text and the host
interpreter's identity (``sys.version`` and its real path: a new or rebuilt Python gets a new venv).

Built at its final path, complete only with its marker. A venv cannot be moved: ``python -m venv``
and pip write the venv's absolute path into ``pyvenv.cfg``, ``bin/activate`` and every script's
shebang (``bin/gunicorn``: ``#!DEPLOY_TO/venvs/<hash>/bin/python``). Building under a temp name
and renaming would need those rewritten by hand (pip's own shebang rules: long paths, spaces,
``/bin/sh`` trampolines), which is the fragile part ``virtualenv --relocatable`` gave up on. So the
venv is created at ``venvs/<hash>`` and is complete exactly when ``venvs/<hash>/.complete`` exists,
written last. A folder without the marker (a crash, a lost connection, a failed pip) is never
linked, and the next ``ensure`` removes it and builds it again; ``unused`` lists it for cleanup.
Two deploys at once are serialized by the deploy lock (remediation/lock.py), not here.

Directories are made and removed with the host's own ``python -m venv``, ``rm -rf``, ``ln`` and
``mv -T`` through the transport (which has no directory or symlink calls of its own).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time

from ..masking import strip_userinfo
from ..transport import TransportError
from .layout import TEMP_PREFIX, VENV_LINK, Layout

COMPLETE = ".complete"
REQUIREMENTS = "requirements.txt"  # the text the venv was built from, kept beside it for a reader
HASH = re.compile(r"^[0-9a-f]{16}$")
IDENTITY = "import os, sys; print(sys.version.replace(chr(10), ' ')); print(os.path.realpath(sys.executable))"


class VenvError(TransportError):
    """The host could not build the venv; one line (pip's own last error line when pip failed)."""


def normalize(requirements_text: str) -> str:
    """The lines that mean something, in their order: no blanks, no comments, no trailing spaces,
    no CR. Order is kept on purpose: two texts are the same venv only when pip reads them alike."""
    lines = []
    for raw in requirements_text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()  # pip's rule: # at the start or after a space
        if line:
            lines.append(line)
    return "\n".join(lines) + "\n"


def requirements_hash(requirements_text: str, python_version: str) -> str:
    text = python_version.strip() + "\0" + normalize(requirements_text)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def python_version(transport, python: str, timeout: float = 60) -> str:
    """The host interpreter's identity: ``sys.version`` and the real path of its executable."""
    try:
        result = transport.run([python, "-c", IDENTITY], timeout=timeout)
    except TransportError as exc:
        raise VenvError(f"the host's python does not run: {exc}") from None
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or len(lines) != 2:
        raise VenvError(f"the host's python does not run: {python}: {_last(result.stderr) or 'no output'}")
    return " | ".join(lines)


def _last(text: str, prefix: str = "") -> str:
    """The last non-empty line (the last starting with ``prefix`` when there is one), without URL credentials."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    wanted = [line for line in lines if prefix and line.startswith(prefix)] or lines
    return strip_userinfo(" ".join(wanted[-1].split()))[:300] if wanted else ""


def _rmtree(transport, *paths: str, timeout: float = 600) -> None:
    result = transport.run(["rm", "-rf", "--", *paths], timeout=timeout)
    if result.returncode != 0:
        raise VenvError(f"could not remove {' '.join(paths)}: {_last(result.stderr)}")


def ensure(transport, layout: Layout, requirements_text: str, python: str, pip_args: list[str] = (),
           timeout: float = 1800) -> tuple[str, bool, float]:
    """The venv for these requirements on this host: (its path, whether it was built now, seconds).

    Reused when complete (nothing is written); else built from scratch with the host's
    ``python -m venv`` and ``pip install -r`` (plus ``pip_args``). On failure the folder is removed
    and VenvError says what pip could not install; nothing else on the host changed."""
    start = time.monotonic()
    identity = python_version(transport, python)
    digest = requirements_hash(requirements_text, identity)
    path = layout.venv(digest)
    if transport.lstat(posixpath.join(path, COMPLETE)) is not None:
        return path, False, time.monotonic() - start
    transport.makedirs(layout.venvs, 0o755)
    _rmtree(transport, path, layout.venv_temp(digest))  # an incomplete one (crash), or a leftover
    deadline = start + timeout

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise VenvError(f"the venv took longer than {timeout:g}s")
        return left

    try:
        created = transport.run([python, "-m", "venv", path], timeout=remaining())
        if created.returncode != 0:  # Debian without python3-venv says why in its first line
            lines = [line for line in (created.stderr + created.stdout).splitlines() if line.strip()]
            raise VenvError(f"{python} -m venv failed: {_last(lines[0] if lines else '') or created.returncode}")
        requirements = posixpath.join(path, REQUIREMENTS)
        transport.write_atomic(requirements, requirements_text, 0o644)
        pip = [posixpath.join(path, "bin", "python"), "-m", "pip", "--disable-pip-version-check", "--no-input",
               "install", "-r", requirements, *pip_args]
        installed = transport.run(pip, timeout=remaining())
        if installed.returncode != 0:
            why = _last(installed.stderr, "ERROR:") or _last(installed.stdout) or f"exit status {installed.returncode}"
            raise VenvError(f"pip could not install the requirements: {why.removeprefix('ERROR: ')}")
        seconds = time.monotonic() - start
        text_digest = hashlib.sha256(requirements_text.encode("utf-8", "surrogateescape")).hexdigest()
        marker = {"python": identity, "requirements_sha256": text_digest,
                  "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": round(seconds, 1)}
        transport.write_atomic(posixpath.join(path, COMPLETE), json.dumps(marker) + "\n", 0o644)
    except BaseException as exc:
        try:
            _rmtree(transport, path)
        except (TransportError, OSError):
            pass  # the host is gone; the folder has no marker, so the next ensure rebuilds it
        if isinstance(exc, TransportError) and not isinstance(exc, VenvError):
            raise VenvError(f"the venv was not built: {exc}") from None
        raise
    return path, True, time.monotonic() - start


def is_complete(transport, venv_path: str) -> bool:
    return transport.lstat(posixpath.join(venv_path, COMPLETE)) is not None


def link(transport, layout: Layout, release_dir: str, venv_path: str) -> None:
    """``release_dir/.venv -> ../../venvs/<hash>`` (relative: valid under the release's temp name
    and its final one), made under a temp name and renamed over; only to a complete venv."""
    if posixpath.dirname(venv_path.rstrip("/")) != layout.venvs.rstrip("/") or not is_complete(transport, venv_path):
        raise VenvError(f"{venv_path}: not a complete venv of {layout.deploy_to}")
    target = posixpath.relpath(venv_path, release_dir)
    final = posixpath.join(release_dir, VENV_LINK)
    temp = posixpath.join(release_dir, f"{VENV_LINK}{TEMP_PREFIX}link")
    for argv in (["ln", "-sfn", "--", target, temp], ["mv", "-T", "--", temp, final]):
        result = transport.run(argv, timeout=60)
        if result.returncode != 0:
            transport.remove(temp)
            raise VenvError(f"{final}: could not link the venv ({_last(result.stderr)})")


def _names(transport, folder: str) -> list[str]:
    if transport.lstat(folder) is None:
        return []
    result = transport.run(["find", folder, "-mindepth", "1", "-maxdepth", "1", "-printf", "%f\\n"], timeout=60)
    if result.returncode != 0:
        raise VenvError(f"{folder}: cannot list ({_last(result.stderr)})")
    return [name for name in result.stdout.split("\n") if name]


def _ours(name: str) -> bool:
    return bool(HASH.match(name) or (name.startswith(TEMP_PREFIX) and HASH.match(name[len(TEMP_PREFIX):])))


def unused(transport, layout: Layout, kept_release_dirs: list[str]) -> list[str]:
    """The venvs no kept release (nor ``current``) links, complete or not: safe to remove.

    Only folders named as this module names them are listed; anything else in venvs/ is left be."""
    root = transport.realpath(layout.venvs)
    used = set()
    for release in [*kept_release_dirs, layout.current]:
        venv_link = posixpath.join(release, VENV_LINK)
        if transport.lstat(venv_link) is not None:
            used.add(transport.realpath(venv_link))
    found = []
    for name in sorted(_names(transport, layout.venvs)):
        if _ours(name) and posixpath.join(root, name) not in used:  # a linked one stays, even incomplete
            found.append(layout.venv(name))
    return found


def remove(transport, layout: Layout, venv_paths: list[str]) -> None:
    """Remove venvs ``unused`` listed: the marker first, so a removal cut short leaves a folder
    that reads as incomplete (rebuilt or removed later), never a broken venv that looks whole."""
    for path in venv_paths:
        name = posixpath.basename(path.rstrip("/"))
        if posixpath.dirname(path.rstrip("/")) != layout.venvs.rstrip("/") or not _ours(name):
            raise ValueError(f"{path}: not a venv folder of {layout.deploy_to}")
        transport.remove(posixpath.join(path, COMPLETE))
        _rmtree(transport, path)
