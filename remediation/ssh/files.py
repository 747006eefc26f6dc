"""Files on an SSH host over the connection's one SFTP session, always as the login user:
read, mode, atomic write (temp file, fsync, rename), copy, remove, makedirs; lstat, realpath and
the login user's uid for rollback's checks. Reads and writes are bytes-faithful, as ``Local``'s
(surrogateescape text, no newline translation); a write onto a symlink goes to its target. Errors are
``OSError``s with an errno, like ``Local``'s; a lost connection is a ``TransportError``.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shlex
import stat
import threading
import uuid

import paramiko
from paramiko.sftp import CMD_EXTENDED

from ..transport import FileInfo, TransportError, decode, encode
from .commands import SshCommands
from .hostkeys import one_line


class SshFiles:
    """File operations over ``commands.connection``; ``commands`` runs the few host commands
    SFTP lacks (``sync``, ``cp -p``)."""

    def __init__(self, commands: SshCommands):
        self.commands = commands
        self.connection = commands.connection
        self.label = commands.label
        self._sftp_lock = threading.RLock()
        self._uid = None

    def _sftp(self) -> paramiko.SFTPClient:
        conn = self.connection.connect()
        try:
            return conn.sftp()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise TransportError(f"{self.label}: no SFTP session ({one_line(exc)})") from None

    def _file_error(self, exc: OSError, path: str) -> OSError:
        """paramiko's IOError, as an OSError with an errno callers can print (like ``Local``'s)."""
        code = exc.errno or errno.EIO
        reason = exc.strerror or (exc.args[0] if exc.args else "") or os.strerror(code)
        return OSError(code, f"{reason} (on {self.label})", path)

    def _file_op(self, what, path, *args):
        with self._sftp_lock:
            sftp = self._sftp()
            try:
                return what(sftp, *args)
            except (EOFError, paramiko.SSHException) as exc:
                self.connection.abort()
                raise TransportError(f"{self.label}: lost the connection ({one_line(exc)})") from None
            except OSError as exc:
                if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
                    raise
                raise self._file_error(exc, path) from None

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        return None if data is None else decode(data)

    def read_bytes(self, path: str) -> bytes | None:
        def read(sftp):
            with sftp.open(path, "rb") as handle:
                return handle.read()
        try:
            return self._file_op(read, path)
        except FileNotFoundError:
            return None

    def lstat(self, path: str) -> FileInfo | None:
        try:
            found = self._file_op(lambda sftp: sftp.lstat(path), path)
        except FileNotFoundError:
            return None
        return FileInfo.of(found.st_mode, found.st_uid)

    def realpath(self, path: str) -> str:
        """The host's realpath(3) (SFTP's own); for a path that does not exist (yet), its folder's."""
        try:
            return self._file_op(lambda sftp: sftp.normalize(path), path)
        except FileNotFoundError:
            folder, name = posixpath.split(path.rstrip("/"))
            return posixpath.join(self.realpath(folder), name) if folder not in ("", path) else path

    def uid(self) -> int:
        if self._uid is None:
            found = self.commands.exec("exec id -u", b"", 60, "id")
            if found.returncode != 0 or not found.stdout.strip().isdigit():
                raise TransportError(f"{self.label}: cannot tell the login user's uid (id -u)")
            self._uid = int(found.stdout.strip())
        return self._uid

    def file_mode(self, path: str) -> int | None:
        try:
            return stat.S_IMODE(self._file_op(lambda sftp: sftp.stat(path), path).st_mode)
        except FileNotFoundError:
            return None

    def write_atomic(self, path: str, text: str | bytes, mode: int | None = None) -> None:
        """Temp file in the same folder (created 0600, then ``mode``), fsync, rename over ``path``.

        Without ``mode`` an existing file keeps its mode; a new one gets 0600 (as ``Local``).
        An existing file's owner and group are kept when the login user may set them.
        On any failure the temp file is removed and the target is untouched.
        A symlink is written through: its target gets the content, the link stays.
        """
        info = self.lstat(path)
        if info is not None and info.kind == "link":
            target = self.realpath(path)
            if self.lstat(target) is None:
                raise OSError(errno.ENOENT, "a symlink to a file that does not exist", path)
            path = target
        folder, name = posixpath.split(path)
        tmp = posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
        data = encode(text)

        def write(sftp):
            try:
                current = sftp.stat(path)
            except FileNotFoundError:
                current = None
            final_mode = mode if mode is not None else (stat.S_IMODE(current.st_mode) if current else 0o600)
            created = False
            try:
                with sftp.open(tmp, "wbx") as handle:
                    created = True
                    handle.chmod(0o600)  # before any content arrives
                    if current is not None:
                        try:
                            handle.chown(current.st_uid, current.st_gid)
                        except OSError:
                            pass  # not ours to give away: the file becomes the login user's
                    handle.chmod(final_mode)
                    handle.write(data)
                    handle.flush()
                    self._fsync(sftp, handle, tmp)
                sftp.posix_rename(tmp, path)
                created = False
            finally:
                if created:
                    try:
                        sftp.remove(tmp)
                    except Exception:
                        pass
            self._sync_folder(sftp, folder or ".")

        self._file_op(write, path)

    def _fsync(self, sftp, handle, tmp: str) -> None:
        """fsync@openssh.com on the open handle; without that extension, ``sync FILE`` on the host."""
        try:
            sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
        except OSError:
            self.commands.exec(f"exec sync -- {shlex.quote(tmp)}", b"", 60, "sync")

    def _sync_folder(self, sftp, folder: str) -> None:
        """Best effort, like ``Local``'s: fsync the folder so the rename is durable. OpenSSH's
        sftp-server opens a folder read-only as a file handle, which fsync@openssh.com accepts;
        elsewhere ``sync FOLDER`` runs on the host. Never fails the write."""
        try:
            with sftp.open(folder, "r") as handle:
                sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
            return
        except (OSError, paramiko.SSHException):
            pass
        try:
            self.commands.exec(f"exec sync -- {shlex.quote(folder)} 2>/dev/null", b"", 60, "sync")
        except TransportError:
            pass

    def copy(self, src: str, dst: str) -> None:
        """``cp -p`` on the host (mode and times kept, like ``shutil.copy2``)."""
        result = self.commands.exec(f"exec cp -p -- {shlex.quote(src)} {shlex.quote(dst)}", b"", 300, "cp")
        if result.returncode != 0:
            reason = one_line(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed")
            code = errno.ENOENT if "No such file" in reason else (errno.EACCES if "Permission denied" in reason
                                                                  else errno.EIO)
            raise OSError(code, f"cp failed on {self.label}: {reason}", src)

    def put_file(self, local: str, remote: str, mode: int = 0o600) -> None:
        """SFTP upload, created with ``mode`` before any byte is written. Pipelined writes do not
        report their failures (paramiko drops the answers it reads while waiting for the close), so
        the size that arrived is checked, as paramiko's own ``put(confirm=True)`` does."""

        def put(sftp):
            size = os.path.getsize(local)
            with open(local, "rb") as source, sftp.open(remote, "wb") as target:
                target.chmod(mode)
                target.set_pipelined(True)
                while chunk := source.read(1 << 20):
                    target.write(chunk)
            arrived = sftp.stat(remote).st_size
            if arrived != size:
                raise OSError(errno.EIO, f"the upload was cut short: {arrived} of {size} bytes arrived", remote)

        self._file_op(put, remote)

    def get_file(self, remote: str, local: str) -> None:
        self._file_op(lambda sftp: sftp.get(remote, local), remote)

    def remove(self, path: str) -> None:
        try:
            self._file_op(lambda sftp: sftp.remove(path), path)
        except FileNotFoundError:
            pass

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        """Like ``Path.mkdir(parents=True, exist_ok=True, mode=mode)``: ``mode`` for the last folder."""

        def make(sftp):
            missing = []
            current = path.rstrip("/") or "/"
            while True:
                try:
                    attributes = sftp.stat(current)
                except FileNotFoundError:
                    missing.append(current)
                    parent = posixpath.dirname(current)
                    if parent == current:
                        break
                    current = parent
                    continue
                if not stat.S_ISDIR(attributes.st_mode):
                    raise FileExistsError(errno.EEXIST, "File exists (not a directory)", current)
                break
            for index, folder in enumerate(reversed(missing)):
                last = index == len(missing) - 1
                try:
                    sftp.mkdir(folder, mode if last else 0o777)
                except OSError:
                    if not stat.S_ISDIR(sftp.stat(folder).st_mode):  # raced with another writer?
                        raise

        self._file_op(make, path)
