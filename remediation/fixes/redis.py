"""Redis for the cache, the channel layer and the Celery broker, through the env switches."""

from __future__ import annotations

from .base import CHANGED, OK, Outcome, set_env

NAME = "redis"
REPAIRS = ("cache.local", "channels.in_memory", "celery.no_broker")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def plan(ctx) -> Outcome:
    redis_url = ctx.env.current("REDIS_URL") or DEFAULT_REDIS_URL
    values = {"REDIS_URL": redis_url, "USE_REDIS_CACHE": "True", "USE_REDIS_CHANNELS": "True"}
    if not ctx.env.current("CELERY_BROKER_URL"):
        values["CELERY_BROKER_URL"] = redis_url
    changed = set_env(ctx, values)
    return Outcome(CHANGED, f"set {', '.join(changed)}") if changed else Outcome(OK, "Redis already configured")
