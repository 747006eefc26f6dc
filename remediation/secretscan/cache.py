"""The scan's cache: what each commit and each blob held, kept on the controller between audits.

A commit's diff and a blob's content never change, so what was found in them is cached for good
(keyed by commit sha, and by blob sha with its path, since detect-secrets reads the file name too).
The cache never holds a value: only rule names, paths, line numbers and keyed hashes (BLAKE2b
keyed with a random per-cache key kept 0600 beside it: a MAC like HMAC-SHA256, at a third of the
cost a token, which matters when every token of every line is hashed). Without the key a hash
cannot be checked against a guessed password. One JSON file per repository, 0600, written atomically
in ``$XDG_CACHE_HOME/django-remediation/secret-scan`` (else ``~/.cache/...``). Written by hand:
no caching library keeps a keyed-hash store with these guarantees.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from pathlib import Path

FORMAT = 1
DIGEST_SIZE = 8  # 64 bits: collisions among a repository's tokens are beyond reach


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "django-remediation" / "secret-scan"


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def load_key(folder: Path) -> bytes:
    """The per-cache key, made on first use: written whole to a temp file, then linked into place,
    so two audits at once agree on one key and neither reads a half-written one."""
    _private_dir(folder)
    path = folder / "key"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(prefix=".key.", dir=folder)  # 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another audit made it first: use theirs
        finally:
            os.unlink(tmp)
    data = path.read_text().strip()
    if len(data) != 64 or os.stat(path).st_mode & 0o077:
        raise OSError(f"{path}: not a private scan key (remove it to start a new cache)")
    return bytes.fromhex(data)


class Cache:
    """Findings and token hashes by commit and by blob for one repository."""

    def __init__(self, repository: str, rules: str, folder: Path | None = None):
        self.folder = folder or cache_dir()
        self.error: str | None = None
        try:
            self.key = load_key(self.folder)
        except (OSError, ValueError) as exc:  # no cache: the scan still runs, with a key for this run only
            self.key = secrets.token_bytes(32)
            self.error = f"cache not usable: {getattr(exc, 'strerror', None) or exc}"
        self.path = self.folder / (hashlib.sha256(f"{repository}\0{rules}".encode()).hexdigest()[:24] + ".json")
        self.rules = rules
        self.commits: dict = {}
        self.blobs: dict = {}
        self.loaded = (-1, -1)  # entries read from the file: unchanged at the end means nothing to write
        if self.error is None:
            self._load()

    def _load(self) -> None:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # absent or damaged: start over
        if isinstance(document, dict) and document.get("format") == FORMAT and document.get("rules") == self.rules:
            self.commits = document.get("commits") or {}
            self.blobs = document.get("blobs") or {}
            self.loaded = (len(self.commits), len(self.blobs))

    def digest(self, value: str) -> str:
        return hashlib.blake2b(value.encode("utf-8", "surrogateescape"), key=self.key, digest_size=DIGEST_SIZE).hexdigest()

    def save(self, commits: set[str], blobs: set[str]) -> None:
        """Keep only the entries this run used (a rewritten history leaves nothing behind); atomic, 0600."""
        if self.error is not None:
            return
        kept_commits = {k: v for k, v in self.commits.items() if k in commits}
        kept_blobs = {k: v for k, v in self.blobs.items() if k in blobs}
        if (self.loaded == (len(self.commits), len(self.blobs)) and len(kept_commits) == len(self.commits)
                and len(kept_blobs) == len(self.blobs)):
            return  # nothing read and nothing dropped: the file already says it
        document = {"format": FORMAT, "rules": self.rules, "commits": kept_commits, "blobs": kept_blobs}
        try:
            fd, tmp = tempfile.mkstemp(prefix=".scan.", suffix=".tmp", dir=self.folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    os.fchmod(handle.fileno(), 0o600)
                    json.dump(document, handle, separators=(",", ":"))
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.error = f"cache not written: {exc.strerror or exc}"
