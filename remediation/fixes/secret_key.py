"""A strong SECRET_KEY, kept once strong; rotated only when asked, the old key kept as a fallback."""

from __future__ import annotations

import secrets
import string

from ..probe.settings_facts import INSECURE_PREFIX
from .base import CHANGED, OK, Outcome, set_env

NAME = "secret_key"
REPAIRS = ("env.secret_key",)
# Letters, digits, '-' and '_': no quoting needed for python-dotenv nor for `set -a; . FILE`.
ALPHABET = string.ascii_letters + string.digits + "-_"
LENGTH = 64


def generate() -> str:
    while True:
        key = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if strong(key):
            return key


def strong(key: str) -> bool:
    """Django's security.W009 rule: 50+ characters, 5+ unique, no django-insecure- prefix."""
    return len(key) >= 50 and len(set(key)) >= 5 and not key.startswith(INSECURE_PREFIX)


def plan(ctx) -> Outcome:
    current = ctx.env.current("SECRET_KEY")
    if strong(current) and not ctx.options.rotate_secret_key:
        return Outcome(OK, "SECRET_KEY is strong; kept")
    values = {"SECRET_KEY": generate()}
    message = f"SECRET_KEY generated ({LENGTH} characters)"
    if ctx.options.rotate_secret_key and strong(current):
        older = [k for k in ctx.env.current("SECRET_KEY_FALLBACKS").split(",") if k]
        values["SECRET_KEY_FALLBACKS"] = ",".join([current] + older)
        message = "SECRET_KEY rotated; the old key kept in SECRET_KEY_FALLBACKS"
    set_env(ctx, values)
    return Outcome(CHANGED, message)
