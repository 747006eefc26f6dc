"""Host keys that fail closed: the known_hosts files of one host and paramiko's policy for keys
absent from them.

fabric's ``Connection`` silently trusts every host (paramiko's ``AutoAddPolicy``, no known_hosts
loaded). Here an unknown key is refused, naming the host and the offered key's SHA256
fingerprint; with ``accept_new`` it is appended instead (trust on first use, under a thread lock
and an ``flock`` so parallel hosts and processes do not clobber the file); a changed key is always
refused, and so is a key listed as ``@revoked``.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import re
import threading

import paramiko

from ..transport import TransportError

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


class HostKeyError(TransportError):
    """The host's key is unknown, changed or revoked: nothing was sent to it."""


def one_line(text: object) -> str:
    return " ".join(str(text).split()) or type(text).__name__


def key_fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:...`` as ``ssh-keygen -lf`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


_file_locks: dict[str, threading.Lock] = {}
_file_locks_guard = threading.Lock()


def _file_lock(path: str) -> threading.Lock:
    with _file_locks_guard:
        return _file_locks.setdefault(os.path.realpath(path), threading.Lock())


def _wildcard(pattern: str) -> re.Pattern:
    """OpenSSH's match_pattern: ``*`` any run of characters, ``?`` one; everything else literal
    (``[`` and ``]`` too: ``[host]:port`` is plain text to it, unlike fnmatch)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def host_matches(hostname: str, patterns: list[str]) -> bool:
    """OpenSSH's match_hostname for one known_hosts line: a matching ``!pattern`` rules the line out,
    else any matching pattern (wildcards, or a hashed ``|1|`` name) makes it apply. Case-insensitive.
    ``hostname`` is ``host``, or ``[host]:port`` for a port other than 22, as OpenSSH looks it up."""
    name = hostname.lower()
    positive = False
    for pattern in patterns:
        if pattern.startswith("|1|"):
            if not name.startswith("|1|") and any(hmac.compare_digest(paramiko.HostKeys.hash_host(n, pattern), pattern)
                                                  for n in {hostname, name}):
                positive = True
            continue
        negated = pattern.startswith("!")
        if _wildcard((pattern[1:] if negated else pattern).lower()).fullmatch(name):
            if negated:
                return False
            positive = True
    return positive


class PatternHostKeys(paramiko.HostKeys):
    """paramiko's store, matching lines as OpenSSH does (paramiko compares names literally, so a
    wildcard or negated line never applied). Lines naming the host exactly come before wildcard
    lines: for one key type paramiko compares the offered key with the first line that applies."""

    def add_entry(self, entry: paramiko.hostkeys.HostKeyEntry) -> None:
        self._entries.append(entry)

    def _hostname_matches(self, hostname, entry) -> bool:
        return host_matches(hostname, entry.hostnames)

    def lookup(self, hostname):
        exact = [e for e in self._entries if hostname in e.hostnames or any(h.startswith("|1|") for h in e.hostnames)]
        self._entries = exact + [e for e in self._entries if e not in exact]
        return super().lookup(hostname)


class KnownHosts:
    """The known_hosts files of one ``Ssh``: ``path`` is read and (trust on first use) appended to;
    ``extra`` files (the global one) are only read."""

    def __init__(self, path: str, extra: tuple[str, ...] = (), hash_names: bool = False):
        self.path = os.path.expanduser(path)
        self.extra = tuple(os.path.expanduser(p) for p in extra)
        self.hash_names = hash_names

    def files(self) -> list[str]:
        return [p for p in (self.path, *self.extra) if os.path.isfile(p)]

    def load(self) -> paramiko.HostKeys:
        """All known keys, each line whole (its patterns and negations matched as OpenSSH does).
        Not ``HostKeys.load``: that dies on the first ``@revoked`` or ``@cert-authority`` line.
        Marker lines and lines paramiko cannot parse (key types it does not know) are skipped:
        those hosts stay unknown."""
        keys = PatternHostKeys()
        for path in self.files():
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    lines = handle.read().splitlines()
            except OSError as exc:
                raise TransportError(f"{path}: cannot read known hosts ({one_line(exc.strerror or exc)})") from None
            for number, line in enumerate(lines, 1):
                line = line.strip()
                if not line or line.startswith(("#", "@")):
                    continue
                try:
                    entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
                except Exception:  # InvalidHostKey (a bare Exception), SSHException, ...
                    continue
                if entry is not None and entry.key is not None:
                    keys.add_entry(entry)
        return keys

    def revoked(self) -> set[bytes]:
        """Key blobs marked ``@revoked`` (paramiko skips those lines; we refuse the keys)."""
        blobs = set()
        for path in self.files():
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    fields = line.split()
                    if len(fields) >= 4 and fields[0] == "@revoked":
                        try:
                            blobs.add(base64.b64decode(fields[3]))
                        except ValueError:
                            pass
        return blobs

    def keys_for(self, hostname: str) -> list[paramiko.PKey]:
        """Every key of every line that applies to ``hostname``."""
        return [e.key for e in self.load()._entries if host_matches(hostname, e.hostnames)]

    def known_for(self, hostname: str) -> dict | None:
        return self.load().lookup(hostname)

    def record(self, hostname: str, key: paramiko.PKey, label: str) -> None:
        """Append ``hostname key`` to ``path`` unless already there; refuse if another key is."""
        directory = os.path.dirname(self.path) or "."
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700, exist_ok=True)
        with _file_lock(self.path):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "r+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # other processes too
                try:
                    known = self.known_for(hostname)
                    if known is not None:
                        present = known.get(key.get_name())
                        if present == key:
                            return  # another thread or process recorded it meanwhile
                        previous = present or next(iter(known.values()))
                        raise HostKeyError(changed_message(label, key, previous, self.path))
                    handle.seek(0, os.SEEK_END)
                    prefix = b""
                    if handle.tell() > 0:
                        handle.seek(-1, os.SEEK_END)
                        if handle.read(1) != b"\n":
                            prefix = b"\n"
                    name = paramiko.HostKeys.hash_host(hostname) if self.hash_names else hostname
                    handle.write(prefix + f"{name} {key.get_name()} {key.get_base64()}\n".encode())
                    handle.flush()
                    os.fsync(handle.fileno())
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def changed_message(label: str, offered: paramiko.PKey, known: paramiko.PKey | None, where: str) -> str:
    known_text = f", known {known.get_name()} {key_fingerprint(known)}" if known is not None else ""
    return (f"{label}: host key CHANGED (offered {offered.get_name()} {key_fingerprint(offered)}{known_text} "
            f"in {where}), refusing to connect; if the change is expected, remove the old line "
            f"(ssh-keygen -R) after verifying the new key")


class HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Called by paramiko for a host absent from known_hosts: refuse, or record (accept_new)."""

    def __init__(self, known_hosts: KnownHosts, accept_new: bool, label: str):
        self.known_hosts = known_hosts
        self.accept_new = accept_new
        self.label = label

    def missing_host_key(self, client, hostname, key):
        if key.asbytes() in self.known_hosts.revoked():
            raise HostKeyError(f"{self.label}: host key {key_fingerprint(key)} is REVOKED in known_hosts, "
                               "refusing to connect")
        plain = re.fullmatch(r"\[(.+)\]:\d+", hostname)
        if plain and key in self.known_hosts.keys_for(plain.group(1)):
            return  # as OpenSSH: nothing under [host]:port, the same key under the bare host name
        if not self.accept_new:
            raise HostKeyError(
                f"{self.label}: unknown host key {key.get_name()} {key_fingerprint(key)} "
                f"(not in {self.known_hosts.path}); verify it and run with --accept-new-host-keys")
        self.known_hosts.record(hostname, key, self.label)
        client.get_host_keys().add(hostname, key.get_name(), key)

