"""The committed-secret scan of one repository: HEAD's files and the history reachable from it.

Each commit is read once, as the lines it added (``git log -p``), each of HEAD's files once per
blob; what they held is cached (remediation/secretscan/cache.py), so a second audit only lists
commits and files. What comes back holds paths, line numbers, short commits and rule names, never
a value: the live secrets (the env's SECRET_KEY, database password, tokens) are compared by keyed
hash with every token of every scanned line and message.
"""

from __future__ import annotations

import os

from . import gitread, names, rules
from .cache import Cache

DEFAULT_LIMIT = 1000
LIMIT_ENV = "REMEDIATION_SECRET_SCAN_COMMITS"
MAX_HISTORY_TEXT = 64 << 20  # characters of patches read in one audit
MAX_BLOB = 1 << 20  # larger files are not read (git treats them as binary too: core.bigFileThreshold)
CHUNK = 200  # commits per git log
PATHSPEC_MAX = 200  # more uncached files than this: read the whole tree
MESSAGE_NAME = "commit-message.cfg"  # detect-secrets' keyword rule for "key = value" without quotes
MAX_HITS = 200


def history_limit() -> int:
    raw = os.environ.get(LIMIT_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_LIMIT


def scan_name(path: str) -> str:
    """The name detect-secrets sees: env and rc files read as config files (values are not quoted there)."""
    name = path.rsplit("/", 1)[-1]
    config = (name == ".env" or name.startswith(".env.") or name.endswith(".env")
              or name in (".envrc", ".pypirc", ".npmrc", ".netrc", "_netrc", ".git-credentials", ".pgpass"))
    return path + ".cfg" if config else path


def scan_lines(cache: Cache, path: str, lines) -> tuple[list, str]:
    """([line, rule, keyed hash of the value]...) and the keyed hashes of every token, space-joined."""
    hits = []
    name = scan_name(path)
    texts = [text for _, text in lines]
    if not rules.skipped_file(path):
        for index in rules.candidate_lines(texts):
            for rule, secret in rules.find_values(name, texts[index]):
                hits.append([lines[index][0], rule, cache.digest(secret)])
    return hits, " ".join(sorted(cache.digest(t) for t in rules.tokens("\n".join(texts))))


def commit_entry(cache: Cache, message: str, files: dict, changed: list) -> dict:
    entry = {"v": [], "n": [], "t": {}, "m": [], "mt": ""}
    for path, lines in files.items():
        hits, hashes = scan_lines(cache, path, lines)
        entry["v"] += [[path, *hit] for hit in hits]
        if hashes:
            entry["t"][path] = hashes
        if names.needs_content(path):
            rule = names.secret_by_content(path, "\n".join(text for _, text in lines))
            if rule:
                entry["n"].append([path, rule])
    for status, path in changed:
        rule = names.secret_by_name(path) if status in "AM" else None
        if rule:
            entry["n"].append([path, rule])
    message_lines = list(enumerate(message.splitlines(), 1))
    hits, entry["mt"] = scan_lines(cache, MESSAGE_NAME, message_lines)
    entry["m"] = [[rule, digest] for _, rule, digest in hits]
    return entry


def blob_entry(cache: Cache, path: str, lines: list) -> dict:
    hits, hashes = scan_lines(cache, path, lines)
    rule = names.secret_by_content(path, "\n".join(t for _, t in lines)) if names.needs_content(path) else None
    return {"v": hits, "t": hashes, "n": rule}


def scan(transport, root: str, live: dict[str, str], limit: int | None = None, cache_folder=None) -> dict:
    """The scan's facts for the repository around ``root``; ``live`` maps each live secret to what it is."""
    limit = limit or history_limit()
    result = {"state": "scanned", "error": None, "partial": [], "limit": limit, "commits": 0, "files": 0,
              "hits": [], "stats": {"commits_read": 0, "blobs_read": 0, "cache_hits": 0}, "cache": None}
    try:
        top, head = gitread.locate(transport, root)
        if top is None:
            result["state"] = "not a repository"
            return result
        if head is None:
            result["state"] = "no commits"
            return result
        cache = Cache(f"{transport.name}\0{top}", rules.rules_version(), cache_folder)
        result["cache"] = cache.error
        Scan(transport, top, head, cache, live, limit, result).run()
    except gitread.GitError as exc:
        result.update(state="error", error=str(exc))
    return result


class Scan:
    def __init__(self, transport, top, head, cache, live, limit, result):
        self.transport, self.top, self.head, self.cache = transport, top, head, cache
        self.live = {cache.digest(value): label for value, label in live.items()}
        self.limit, self.result = limit, result
        self.stats = result["stats"]
        self.live_seen: set = set()

    def run(self) -> None:
        shas = gitread.commits(self.transport, self.top, self.limit + 1)
        if len(shas) > self.limit:
            self.result["partial"].append(f"the history has more than {self.limit} commits; the {self.limit} newest were scanned")
            shas = shas[:self.limit]
        shas = self.read_history(shas)
        files = self.read_tree()
        self.result["commits"], self.result["files"] = len(shas), len(files)
        self.collect(shas, files)
        self.cache.save(set(shas), {key for key, _ in files})
        if self.cache.error:
            self.result["cache"] = self.cache.error

    def read_history(self, shas: list[str]) -> list[str]:
        """Fill the cache for every commit not in it; returns the commits scanned (all, or up to the byte bound)."""
        missing = [s for s in shas if s not in self.cache.commits]
        self.stats["cache_hits"] += len(shas) - len(missing)
        read = 0
        for start in range(0, len(missing), CHUNK):
            if read > MAX_HISTORY_TEXT:
                done = set(missing[:start])
                kept = [s for s in shas if s in self.cache.commits or s in done]
                self.result["partial"].append(f"the patches passed {MAX_HISTORY_TEXT >> 20} MiB; "
                                              f"{len(shas) - len(kept)} older commit(s) were not scanned")
                return kept
            chunk = missing[start:start + CHUNK]
            found, size = gitread.history(self.transport, self.top, chunk)
            read += size
            for sha in chunk:
                message, files, changed = found.get(sha, ("", {}, []))
                self.cache.commits[sha] = commit_entry(self.cache, message, files, changed)
                self.stats["commits_read"] += 1
        return shas

    def read_tree(self) -> list[tuple[str, str]]:
        """[(cache key, path)] of HEAD's files, every text blob's entry in the cache."""
        entries = gitread.tree(self.transport, self.top)
        files, missing, skipped = [], {}, 0
        for mode, kind, blob, size, path in entries:
            if kind != "blob":
                continue
            key = f"{blob}:{path}"
            files.append((key, path))
            if key in self.cache.blobs:
                self.stats["cache_hits"] += 1
            elif size is not None and size > MAX_BLOB:
                skipped += 1
            else:
                missing[path] = key
        if skipped:
            self.result["partial"].append(f"{skipped} file(s) over {MAX_BLOB >> 20} MiB were not read")
        if missing:
            paths = sorted(missing) if len(missing) <= PATHSPEC_MAX else None
            found = gitread.head_files(self.transport, self.top, self.head, paths)
            for path, key in missing.items():
                blob, lines = found.get(path, (None, []))
                self.cache.blobs[key] = blob_entry(self.cache, path, lines)  # binary: an empty entry
                self.stats["blobs_read"] += 1
        return [(k, p) for k, p in files if k in self.cache.blobs]

    def collect(self, shas: list[str], files: list) -> None:
        hits, head = [], self.head[:12]
        tracked = {path for _, path in files}
        in_tree = set()
        for key, path in files:
            entry = self.cache.blobs[key]
            rule = names.secret_by_name(path) or entry.get("n")
            if rule:
                hits.append({"kind": "file", "path": path, "line": None, "commit": head, "rule": rule})
            for line, rule, digest in entry["v"]:
                in_tree.add(digest)
                hits.append({"kind": "tree", "path": path, "line": line, "commit": head, "rule": rule})
            self.live_hits(hits, entry["t"], path, head)
        seen = set()
        for sha in reversed(shas):  # oldest first: a value is reported at the commit that added it
            entry, short = self.cache.commits[sha], sha[:12]
            for path, rule in entry["n"]:
                if path not in tracked and (path, rule) not in seen:
                    seen.add((path, rule))
                    hits.append({"kind": "history", "path": path, "line": None, "commit": short, "rule": rule})
            for path, line, rule, digest in entry["v"]:
                if digest not in in_tree and (path, digest) not in seen:
                    seen.add((path, digest))
                    hits.append({"kind": "history", "path": path, "line": line, "commit": short, "rule": rule})
            for rule, digest in entry["m"]:
                hits.append({"kind": "message", "path": None, "line": None, "commit": short, "rule": rule})
            for path, hashes in entry["t"].items():
                self.live_hits(hits, hashes, path, short)
            self.live_hits(hits, entry["mt"], None, short)
        order = {"live": 0, "file": 1, "tree": 2, "history": 3, "message": 4}
        hits.sort(key=lambda hit: order[hit["kind"]])  # stable: the bound never drops a live secret first
        self.result["hits"] = hits[:MAX_HITS]
        if len(hits) > MAX_HITS:
            self.result["partial"].append(f"{len(hits) - MAX_HITS} more place(s) not listed")

    def live_hits(self, hits: list, hashes: str, path: str | None, commit: str) -> None:
        if not self.live or not hashes:
            return
        for digest, label in self.live.items():  # fixed-width hashes between spaces: a substring test is exact
            if digest in hashes and (label, path) not in self.live_seen:
                self.live_seen.add((label, path))
                hits.append({"kind": "live", "path": path, "line": None, "commit": commit, "rule": "live secret",
                             "setting": label})
