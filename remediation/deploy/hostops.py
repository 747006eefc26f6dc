"""The file-system steps of a deploy on one host: folders, the release's tree, the ``current`` switch.

Each step is made whole before it becomes visible: the tree is unpacked under ``releases/.tmp-<id>``
and renamed into place once its record is written; ``current`` is switched by renaming a new
symlink over it (``mv -T``: rename(2), atomic), never by ``rm`` then ``ln`` (Capistrano's 404s).
Commands are plain POSIX tools (tar, mv, ln, df) run through the transport, the only code that
knows whether the host is this machine.
"""

from __future__ import annotations

import os
import posixpath

from ..changes import ChangeFailed
from ..transport import Transport
from . import records
from .layout import TEMP_PREFIX, VENV_LINK, Layout


def sh(transport: Transport, script: str, *args: str, what: str, timeout: float = 600) -> str:
    result = transport.run(["sh", "-c", script, "sh", *args], timeout=timeout)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        raise ChangeFailed(f"{what}: {lines[-1][:300] if lines else f'exit status {result.returncode}'}")
    return result.stdout


def prepare(transport: Transport, layout: Layout) -> list[str]:
    """The layout's folders; returns those it made (``--check`` removes them again)."""
    made = [] if transport.lstat(layout.deploy_to) else [layout.deploy_to]
    for path in (layout.releases, layout.shared, layout.venvs, layout.state, layout.backups, layout.static,
                 layout.media, layout.logs, layout.bin):
        if transport.lstat(path) is None:
            transport.makedirs(path, 0o755)
            made.append(path)
    return made


def remove_empty(transport: Transport, folders: list[str]) -> None:
    """``rmdir`` of folders this run made, deepest first; a folder that holds anything stays."""
    for path in sorted(folders, key=len, reverse=True):
        transport.run(["rmdir", "--", path], timeout=60)


def own_shared(transport: Transport, layout: Layout, user: str) -> str:
    """The folders the app writes (uploads, logs) belong to the app user."""
    result = transport.run(["chown", "--", f"{user}:", layout.media, layout.logs], timeout=60)
    if result.returncode != 0:
        return f"warning: shared/media and shared/log are not the app user's ({result.stderr.strip()[:160]})"
    return f"shared/media and shared/log owned by {user}"


def free_bytes(transport: Transport, path: str) -> int | None:
    """Free space of the file system holding ``path`` (its nearest existing parent)."""
    script = 'p=$1; while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done; df -Pk -- "$p" | tail -n 1'
    result = transport.run(["sh", "-c", script, "sh", path], timeout=60)
    fields = result.stdout.split()
    if result.returncode != 0 or len(fields) < 4 or not fields[3].isdigit():
        return None
    return int(fields[3]) * 1024


def upload_tree(transport: Transport, layout: Layout, rid: str, bundle: str) -> str:
    """The commit's tar unpacked under ``releases/.tmp-<id>``; returns that folder."""
    temp = layout.release_temp(rid)
    archive = posixpath.join(layout.state, f"{TEMP_PREFIX}{rid}.tar")
    sh(transport, 'rm -rf -- "$1" && mkdir -p -- "$1"', temp, what="cannot make the release folder")
    try:
        transport.put_file(bundle, archive)
    except OSError as exc:
        full = disk_full(transport, layout.state, bundle)
        transport.remove(archive)
        raise ChangeFailed(f"upload of the release failed: {full or exc.strerror or exc}") from None
    try:
        result = transport.run(["tar", "-xf", archive, "-C", temp], timeout=600)
        if result.returncode != 0:
            # tar's first complaint is the cause (its last line only says that it failed)
            lines = [line.strip() for line in result.stderr.splitlines()
                     if line.strip() and "Exiting with failure status" not in line]
            cause = lines[0][:300] if lines else f"exit status {result.returncode}"
            full = disk_full(transport, layout.releases, bundle)
            raise ChangeFailed(f"unpacking the release failed: {full + ' (' + cause + ')' if full else cause}")
    finally:
        transport.remove(archive)
    return temp


def disk_full(transport: Transport, folder: str, bundle: str) -> str:
    """"No space left on device" when the file system of ``folder`` has less room than the release
    needs: SFTP reports a full disk as a bare "Failure", and tar as "Wrote only N of M bytes"."""
    free = free_bytes(transport, folder)
    if free is None or free >= os.path.getsize(bundle):
        return ""
    return f"No space left on device ({free >> 10} KiB free in {folder}, {os.path.getsize(bundle) >> 10} KiB needed)"


def finish_release(transport: Transport, layout: Layout, rid: str, venv: str, release: records.Release) -> str:
    """Link the venv and shared files in, write the record, rename the release into place."""
    temp = layout.release_temp(rid)
    transport.run(["ln", "-sfn", venv, posixpath.join(temp, VENV_LINK)], timeout=60)
    records.write(transport, posixpath.join(temp, records.RELEASE_RECORD), release)
    final = layout.release(rid)
    sh(transport, 'rm -rf -- "$2" && mv -T -- "$1" "$2"', temp, final, what="cannot move the release into place")
    return final


def discard_temp(transport: Transport, layout: Layout, rid: str) -> None:
    transport.run(["rm", "-rf", "--", layout.release_temp(rid)], timeout=600)


def link_shared(transport: Transport, release_dir: str, inside: str, shared: str) -> None:
    """Replace ``release_dir/inside`` (a folder of the commit, if any) by a link to ``shared``."""
    target = posixpath.join(release_dir, inside)
    sh(transport, 'rm -rf -- "$1" && mkdir -p -- "$(dirname -- "$1")" && ln -s -- "$2" "$1"', target, shared,
       what=f"cannot link {inside} to {shared}")


def switch(transport: Transport, layout: Layout, rid: str) -> None:
    """Point ``current`` at ``releases/<rid>``: a new symlink renamed over the old one (atomic)."""
    temp = f"{layout.current}{TEMP_PREFIX}{rid}"
    sh(transport, 'ln -sfn -- "$1" "$2" && mv -Tf -- "$2" "$3"', layout.release(rid), temp, layout.current,
       what="cannot switch current")


def remove_release(transport: Transport, layout: Layout, rid: str) -> None:
    sh(transport, 'rm -rf -- "$1"', layout.release(rid), what=f"cannot remove release {rid}")


def remove_strays(transport: Transport, layout: Layout) -> list[str]:
    """What a killed run left, only ever under temp names: half-made releases, a half-made
    ``current`` link, an upload. Removed under the lock, so no other run is making them."""
    script = ('cd -- "$1" 2>/dev/null || exit 0; for p in releases/.tmp-* current.tmp-* .deploy/.tmp-*; do '
              '[ -e "$p" ] || [ -L "$p" ] || continue; rm -rf -- "$p" && echo "$p"; done')
    result = transport.run(["sh", "-c", script, "sh", layout.deploy_to], timeout=600)
    return result.stdout.split()
