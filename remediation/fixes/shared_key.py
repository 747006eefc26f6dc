"""One SECRET_KEY for the hosts that serve one app behind one load balancer: the decision.

Hosts whose ``secret_key_group`` var has the same value are a *set*; hosts without it keep
per-host keys. Given what each member's production env holds (read before anything is planned),
decide the set's key and every member's fallbacks, the same on every member:

- every member must have been read; when one could not be, nothing changes on any (fail closed);
- candidates are the distinct strong keys that are no member's fallback (a key in a fallback list
  is older: a rotation that reached only some hosts is completed by the next run);
- ``--rotate-secret-key``: one new key; every member's strong key goes into the fallbacks;
- no rotation, one candidate: it is adopted by every member (a new host joins the set);
  no candidate: one key is generated; two or more: the hosts disagree, and no key is picked for
  them (a majority is no proof of which key the users' sessions hold): nothing changes, each
  group of hosts is named with its key's fingerprint, and ``--rotate-secret-key`` is the way out;
- fallbacks: the union of the members' fallbacks (newest first), then ``--drop-fallbacks-older-than``
  at set level: a fallback is as old as its earliest recorded date on any member.

Fingerprints shown are keyed with a key new to each run (HMAC-SHA256, 16 hex digits), as drift's.
"""

from __future__ import annotations

import datetime
import hmac
from collections import defaultdict
from dataclasses import dataclass, field

from .fallback_dates import FallbackRecord
from .secret_key import generate, strong


@dataclass
class Member:
    """What one host of a set holds now (or why it could not be read)."""

    host: str
    key: str = field(default="", repr=False)
    fallbacks: list = field(default_factory=list, repr=False)
    record: FallbackRecord | None = field(default=None, repr=False)
    error: str | None = None


@dataclass
class SharedKey:
    """What one host of a set is to hold; the secret_key fix plans exactly this."""

    group: str
    hosts: list
    expected: str = field(default="", repr=False)  # SECRET_KEY when the set was read
    expected_fallbacks: list = field(default_factory=list, repr=False)
    key: str = field(default="", repr=False)
    fallbacks: list = field(default_factory=list, repr=False)
    dates: dict = field(default_factory=dict, repr=False)  # fallback -> ISO date first added on the set
    message: str = ""
    failure: str | None = None
    dropped: int = 0
    undated: int = 0
    new: bool = False  # the key was generated in this run (not adopted from a member)


def fingerprint(run_key: str, key: str) -> str:
    return hmac.new(run_key.encode(), key.encode(), "sha256").hexdigest()[:16]


def _union(lists) -> list[str]:
    seen, out = set(), []
    for items in lists:
        for item in items:
            if item not in seen:
                seen.add(item)
                out.append(item)
    return out


def _earliest(members: list[Member], key: str) -> datetime.date | None:
    dates = [m.record.date_of(key) for m in members if m.record is not None]
    dates = [d for d in dates if d is not None]
    return min(dates) if dates else None


def disagreement(group: str, members: list[Member], candidates: list[str], run_key: str) -> str:
    by_key = defaultdict(list)
    for member in members:
        if member.key in candidates:
            by_key[member.key].append(member.host)
    sides = "; ".join(f"{', '.join(hosts)}: key {fingerprint(run_key, key)}" for key, hosts in by_key.items())
    return (f"secret_key_group {group}: the hosts hold different SECRET_KEYs ({sides}); nothing changed on any "
            "host: run with --rotate-secret-key to give the set one new key (every old key kept in "
            "SECRET_KEY_FALLBACKS)")


def decide(group: str, members: list[Member], rotate: bool, drop_days: int | None, now: datetime.date,
           run_key: str) -> dict[str, SharedKey]:
    """host -> what it is to hold. ``members`` are every host of the set, in inventory order."""
    names = [m.host for m in members]

    def each(**kwargs) -> dict[str, SharedKey]:
        return {m.host: SharedKey(group, names, m.key, list(m.fallbacks), **kwargs) for m in members}

    unread = [m for m in members if m.error]
    if unread:
        why = "; ".join(f"{m.host}: {m.error}" for m in unread)
        return each(failure=f"secret_key_group {group}: {', '.join(m.host for m in unread)} could not be read ({why}); "
                            "the set's key was not changed on any host")
    if any("," in m.key for m in members if strong(m.key)) and rotate:
        return each(failure=f"secret_key_group {group}: a SECRET_KEY holds a comma, which SECRET_KEY_FALLBACKS "
                            "cannot carry; not rotated on any host")
    older = {k for m in members for k in m.fallbacks}
    current = _union([[m.key] for m in members if strong(m.key)])
    candidates = [k for k in current if k not in older]
    hosts = ", ".join(names)
    if rotate and current:
        key = generate()
        moved = current
        message = f"SECRET_KEY rotated for secret_key_group {group} ({hosts}); the old key kept in SECRET_KEY_FALLBACKS"
    elif len(candidates) > 1:
        return each(failure=disagreement(group, members, candidates, run_key))
    elif candidates:
        key, moved = candidates[0], [k for k in current if k != candidates[0]]
        source = next(m.host for m in members if m.key == key)
        message = f"SECRET_KEY of secret_key_group {group} adopted from {source}"
    elif current:  # every strong key is someone's fallback: the newest is the one nobody has yet
        key, moved = generate(), current
        message = f"SECRET_KEY generated for secret_key_group {group} ({hosts})"
    else:
        key, moved = generate(), []
        message = f"SECRET_KEY generated for secret_key_group {group} ({hosts})"
    fallbacks = [k for k in _union([moved, *(m.fallbacks for m in members)]) if k != key]
    dates = {k: d.isoformat() for k in fallbacks if (d := _earliest(members, k)) is not None}
    dropped = undated = 0
    if drop_days is not None:
        limit = now - datetime.timedelta(days=drop_days)
        undated = sum(1 for k in fallbacks if k not in dates and k not in moved)
        kept = [k for k in fallbacks if k in moved or k not in dates or datetime.date.fromisoformat(dates[k]) >= limit]
        dropped, fallbacks = len(fallbacks) - len(kept), kept
        dates = {k: d for k, d in dates.items() if k in kept}
    return {m.host: SharedKey(group, names, m.key, list(m.fallbacks), key, list(fallbacks), dict(dates),
                              message if m.key != key else f"SECRET_KEY is secret_key_group {group}'s; kept",
                              dropped=dropped, undated=undated, new=key not in current) for m in members}
