"""The run lock's mechanism, standalone (stdlib only): imported here, and run as a script of its own on
a remote host (``python3 -c SOURCE PATH HOLDER``), where it holds the lock until its stdin closes.

flock the file, check it is still the file at ``path`` (a holder releasing removes it, and may do
so between our open and our flock), write who we are. Release removes the file (and the state
folder when it was made for it and is empty): a clean run leaves nothing behind, and a killed one
leaves only a file whose flock died with it, which the next run takes over.
"""

import errno
import fcntl
import json
import os
import sys

LOCKED, HELD, ERROR = "@@REMEDIATION-LOCKED@@", "@@REMEDIATION-LOCK-HELD@@", "@@REMEDIATION-LOCK-ERROR@@"


def acquire(path, holder):
    """(fd, made_folder) while holding the lock; (None, holder text) when someone else holds it."""
    folder = os.path.dirname(path)
    for _ in range(20):
        made = not os.path.isdir(folder)
        if made:
            try:
                os.mkdir(folder, 0o700)
            except FileExistsError:
                made = False
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            continue  # the folder was removed by a holder releasing: again
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 4096).decode("utf-8", "replace")
            os.close(fd)
            return None, text
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        if current is None or current.st_ino != os.fstat(fd).st_ino:
            os.close(fd)  # we locked a file its holder removed on release: again
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        return fd, made
    raise OSError(errno.EAGAIN, "the lock file keeps changing")


def release(fd, path, made_folder):
    try:
        os.unlink(path)
        if made_folder:
            os.rmdir(os.path.dirname(path))
    except OSError:
        pass  # not ours to remove any more, or the folder holds other state
    os.close(fd)


def main():
    path, holder = sys.argv[1], json.loads(sys.argv[2])
    holder["lock_pid"] = os.getpid()
    try:
        fd, made = acquire(path, holder)
    except OSError as exc:
        print(ERROR + json.dumps(exc.strerror or str(exc)), flush=True)
        sys.exit(1)
    if fd is None:
        print(HELD + made.replace("\n", " "), flush=True)
        sys.exit(3)
    print(LOCKED, flush=True)
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        release(fd, path, made)


if __name__ == "__main__":
    main()
