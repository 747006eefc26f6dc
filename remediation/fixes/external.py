"""Values only a person can give (external credentials): taken from the person, validated, never shown.

The keys are those the audit's ``external.*`` findings name: every secret-named variable the
settings read and that is not set (and the few non-secret keys a known service needs), so nothing
is written that the settings do not read. Sources, first found wins: the secrets file
(``--secrets``, dotenv format), the environment of this process, a prompt when a terminal is
attached. A value whose format is known is checked
before it is written; a missing one is reported as ``needs input`` by name.
"""

from __future__ import annotations

import re

from ..checks.integrations import OTHER, SERVICES
from .base import CHANGED, FAILED, NEEDS_INPUT, OK, Outcome, set_env

NAME = "external"
# Every external.<service> finding: the keys come from what the settings read (checks/integrations.py).
REPAIRS = tuple(f"external.{service.key}" for service in (*SERVICES, OTHER))

FORMATS = {
    "TELEGRAM_BOT_TOKEN": (re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$"), "a Telegram bot token (digits:token)"),
    "OPENROUTER_API_KEY": (re.compile(r"^sk-or-[A-Za-z0-9_-]{10,}$"), "an OpenRouter key (sk-or-...)"),
    "YOOKASSA_SHOP_ID": (re.compile(r"^\d{3,}$"), "a YooKassa shop id (digits)"),
    "YOOKASSA_SECRET_KEY": (re.compile(r"^(live|test)_[A-Za-z0-9_-]{10,}$"), "a YooKassa secret key (live_... or test_...)"),
    "STRIPE_SECRET_KEY": (re.compile(r"^(sk|rk)_(live|test)_[A-Za-z0-9]{10,}$"), "a Stripe secret key (sk_live_... or sk_test_...)"),
    "STRIPE_PUBLISHABLE_KEY": (re.compile(r"^pk_(live|test)_[A-Za-z0-9]{10,}$"), "a Stripe publishable key (pk_...)"),
    "SENTRY_DSN": (re.compile(r"^https?://[^@/\s]+@[^/\s]+/\d+$"), "a Sentry DSN (https://KEY@HOST/PROJECT)"),
    "EMAIL_HOST": (re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$"),
                   "a host name"),
}


def needed_keys(ctx) -> list[str]:
    """Every key an external finding names, in the order the findings came."""
    keys = []
    for finding in ctx.findings:
        if finding.id in REPAIRS:
            keys += [k for k in finding.needs if k not in keys]
    return keys


def invalid(key: str, value: str) -> str | None:
    rule = FORMATS.get(key)
    if rule and not rule[0].match(value):
        return f"{key} is not {rule[1]}"
    return None


def plan(ctx) -> Outcome:
    keys = needed_keys(ctx)
    if not keys:
        return Outcome(OK, "external services configured")
    supplied = {k: ctx.inputs.get(k) for k in keys if ctx.inputs.get(k)}
    errors = [e for e in (invalid(k, v) for k, v in supplied.items()) if e]
    if errors:
        return Outcome(FAILED, "; ".join(errors) + " (nothing written)")
    changed = set_env(ctx, supplied)
    missing = [k for k in keys if k not in supplied]
    if missing:
        note = f"; set {', '.join(changed)}" if changed else ""
        return Outcome(NEEDS_INPUT, f"supply {', '.join(missing)} (--secrets FILE, the environment or a prompt){note}",
                       needs=missing)
    return Outcome(CHANGED, f"set {', '.join(changed)}")
