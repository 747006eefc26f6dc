"""When each SECRET_KEY fallback was added, recorded without the key, so a later run can drop the
old ones (``--drop-fallbacks-older-than DAYS``).

The record is ``<project>/.remediation/secret_key_fallbacks.json`` on the project's host::

    {"version": 1, "salt": "<32 hex>", "added": {"<fingerprint>": "2026-11-26"}}

A fingerprint is HMAC-SHA256(salt, key), 16 hex digits; the salt is random per host and kept in
the record, so the record alone tells nothing about any key. Only fallbacks that fix-prod added
are dated; one added by hand has no date and is never dropped (unknown is not old). The record is
written with the env file, through the same atomic, backed-up file change (rollback restores it).
Written by hand: a small JSON file of dates; no library keeps one.
"""

from __future__ import annotations

import datetime
import hmac
import json
import posixpath
import re
import secrets as secrets_module
from dataclasses import dataclass, field

from ..changes import FileChange
from ..runner import UsageError

STATE_DIR = ".remediation"
RECORD = "secret_key_fallbacks.json"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HEX = re.compile(r"^[0-9a-f]{32}$")


def today() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()


def split(value: str) -> list[str]:
    """SECRET_KEY_FALLBACKS as the settings read it: comma-separated, blanks dropped."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@dataclass
class FallbackRecord:
    path: str
    before: str | None  # the file's text as read, None when absent
    salt: str
    added: dict = field(default_factory=dict)  # fingerprint -> ISO date
    mode: int | None = None
    known: dict = field(default_factory=dict, repr=False)  # key -> ISO date it was added elsewhere in its set

    @classmethod
    def load(cls, transport, root: str) -> "FallbackRecord":
        """The host's record (an empty one when there is none); a malformed record is bad input."""
        path = posixpath.join(root, STATE_DIR, RECORD)
        text = transport.read_text(path)
        mode = transport.file_mode(path)
        if text is None:
            return cls(path, None, secrets_module.token_hex(16))
        try:
            data = json.loads(text)
            salt, added = data["salt"], data["added"]
            ok = (data.get("version") == 1 and isinstance(salt, str) and HEX.match(salt) and isinstance(added, dict)
                  and all(isinstance(v, str) and DATE.match(v) for v in added.values()))
            if ok:
                for value in added.values():
                    datetime.date.fromisoformat(value)
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            raise UsageError(f"{path}: not a SECRET_KEY fallback record (version, salt, added: fingerprint -> "
                             "YYYY-MM-DD); fix or remove it")
        return cls(path, text, salt, dict(added), mode)

    def fingerprint(self, key: str) -> str:
        return hmac.new(self.salt.encode(), key.encode(), "sha256").hexdigest()[:16]

    def date_of(self, key: str) -> datetime.date | None:
        value = self.added.get(self.fingerprint(key))
        return datetime.date.fromisoformat(value) if value else None

    def drop_older(self, fallbacks: list[str], days: int, now: datetime.date) -> tuple[list[str], int, int]:
        """(fallbacks kept, how many dropped, how many kept for want of a date)."""
        limit = now - datetime.timedelta(days=days)
        kept, dropped, undated = [], 0, 0
        for key in fallbacks:
            added = self.date_of(key)
            if added is None:
                undated += 1
                kept.append(key)
            elif added < limit:
                dropped += 1
            else:
                kept.append(key)
        return kept, dropped, undated

    def change(self, before: list[str], after: list[str], now: datetime.date) -> FileChange | None:
        """The record after the fallbacks went from ``before`` to ``after``: keys new to them dated
        ``now``, keys gone from them forgotten. None when the fallbacks did not change."""
        if before == after:
            return None
        added = {fp: date for fp, date in self.added.items() if fp in {self.fingerprint(k) for k in after}}
        for key in after:
            if key not in before:
                added.setdefault(self.fingerprint(key), self.known.get(key, now.isoformat()))
        text = json.dumps({"version": 1, "salt": self.salt, "added": dict(sorted(added.items()))}, indent=2) + "\n"
        if text == self.before:
            return None
        return FileChange("secret_key", self.path, self.before, text, mode=0o600, current_mode=self.mode,
                          description="dates of the SECRET_KEY fallbacks (fingerprints, no keys)")
