"""The production switches: ENVIRONMENT, DEBUG, the hosts and origins of the given domains, and
the public URLs the settings read that still point at this machine (``https://DOMAIN``)."""

from __future__ import annotations

from ..checks.environment import LOCAL_HOSTS
from ..checks.integrations import is_local_public_url
from .base import CHANGED, NEEDS_INPUT, OK, Outcome, set_env

NAME = "env_file"
REPAIRS = ("env.missing", "env.debug", "env.environment", "env.allowed_hosts", "env.local_url", "django.cors_local",
           "django.cors_allow_all")


def public(hosts: str) -> list[str]:
    return [h for h in hosts.split(",") if h.strip() and h.strip().lstrip(".") not in LOCAL_HOSTS and h.strip() != "*"]


def plan(ctx) -> Outcome:
    values = {"ENVIRONMENT": "production", "DEBUG": "False"}
    domains = [d.strip().lower() for d in ctx.options.domains if d.strip()]
    needs = []
    if domains:
        values["ALLOWED_HOSTS"] = ",".join(domains)
        values["CSRF_TRUSTED_ORIGINS"] = ",".join(f"https://{d}" for d in domains)
        values["CORS_ALLOWED_ORIGINS"] = ",".join(f"https://{d}" for d in domains)
        values.update({name: f"https://{domains[0]}" for name in local_public_urls(ctx)})
    elif not public(ctx.env.current("ALLOWED_HOSTS")) or local_public_urls(ctx):
        needs.append("--domain")
    changed = set_env(ctx, values)
    if needs:
        return Outcome(NEEDS_INPUT, "ALLOWED_HOSTS and CORS need the production domain: pass --domain", needs=needs)
    if changed:
        return Outcome(CHANGED, f"set {', '.join(changed)}")
    return Outcome(OK, "production switches already set")


def local_public_urls(ctx) -> list[str]:
    """The site or public base URLs the settings read (as recorded) whose value here is local."""
    reads = ctx.facts.env_reads or {}
    return [name for name, read in reads.items()
            if is_local_public_url(name, ctx.env.current(name) if read.get("set") or name in ctx.env.merged()
                                   else read.get("default"))]
