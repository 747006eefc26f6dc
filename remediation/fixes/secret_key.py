"""A strong SECRET_KEY, kept once strong; rotated only when asked, the old key kept as a fallback.

On a fleet, hosts of one ``secret_key_group`` share one key: the decision is made for the whole
set before any host plans (``shared_key``) and arrives here as ``options.shared_key``, which this
fix plans exactly. ``--drop-fallbacks-older-than DAYS`` drops the fallbacks this tool dated
(``fallback_dates``) when older; undated ones are kept.
"""

from __future__ import annotations

import secrets
import string

from ..probe.settings_facts import INSECURE_PREFIX
from .base import CHANGED, FAILED, OK, Outcome, set_env
from .fallback_dates import FallbackRecord, split, today

NAME = "secret_key"
REPAIRS = ("env.secret_key",)
# Letters, digits, '-' and '_': no quoting needed for python-dotenv nor for `set -a; . FILE`.
ALPHABET = string.ascii_letters + string.digits + "-_"
LENGTH = 64
FALLBACKS = "SECRET_KEY_FALLBACKS"


def generate() -> str:
    while True:
        key = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if strong(key):
            return key


def strong(key: str) -> bool:
    """Django's security.W009 rule: 50+ characters, 5+ unique, no django-insecure- prefix."""
    return len(key) >= 50 and len(set(key)) >= 5 and not key.startswith(INSECURE_PREFIX)


def plan(ctx) -> Outcome:
    current, fallbacks = ctx.env.current("SECRET_KEY"), split(ctx.env.current(FALLBACKS))
    record = ctx.fallback_record = FallbackRecord.load(ctx.transport, str(ctx.facts.root))
    shared, days = getattr(ctx.options, "shared_key", None), ctx.options.drop_fallbacks_older_than
    drop = ""
    if shared is not None:
        if shared.failure:
            return Outcome(FAILED, shared.failure)
        before = ctx.env.values.get("SECRET_KEY", ""), split(ctx.env.values.get(FALLBACKS, ""))
        if before != (shared.expected, shared.expected_fallbacks):
            return Outcome(FAILED, f"SECRET_KEY changed on this host while secret_key_group {shared.group} was read; "
                                   "nothing changed: run fix-prod again")
        key, target, message = shared.key, list(shared.fallbacks), shared.message
        record.known = dict(shared.dates)
        dropped, undated = shared.dropped, shared.undated
    elif strong(current) and not ctx.options.rotate_secret_key:
        key, target, message = current, fallbacks, "SECRET_KEY is strong; kept"
        dropped = undated = 0
    else:
        key, target, message = generate(), fallbacks, f"SECRET_KEY generated ({LENGTH} characters)"
        if ctx.options.rotate_secret_key and strong(current):
            if "," in current:
                return Outcome(FAILED, "SECRET_KEY holds a comma, which SECRET_KEY_FALLBACKS cannot carry; not rotated")
            target = [current] + [k for k in fallbacks if k != current]
            message = "SECRET_KEY rotated; the old key kept in SECRET_KEY_FALLBACKS"
        dropped = undated = 0
    if days is not None and shared is None:
        moved = target[:1] if key != current and target[:1] == [current] else []  # rotated now: kept
        kept, dropped, undated = record.drop_older(target[len(moved):], days, today())
        target = moved + kept
    if days is not None:
        drop = f"{dropped} fallback(s) older than {days} days dropped"
        if undated:
            drop += f", {undated} kept with no recorded date (added by hand: remove it yourself)"
    values = {}
    if key != current:
        values["SECRET_KEY"] = key
    if target != fallbacks:
        values[FALLBACKS] = ",".join(target)
    if shared is not None and FALLBACKS in values and "SECRET_KEY" not in values and not dropped:
        message += "; SECRET_KEY_FALLBACKS made the same on every host of the set"
    message += f"; {drop}" if drop else ""
    return Outcome(CHANGED if set_env(ctx, values) else OK, message)


def record_change(ctx):
    """The fallback dates after this run's SECRET_KEY_FALLBACKS (None when they did not change)."""
    record = getattr(ctx, "fallback_record", None)
    if record is None:
        return None
    before = split(ctx.env.values.get(FALLBACKS, ""))
    return record.change(before, split(ctx.env.current(FALLBACKS)), today())
