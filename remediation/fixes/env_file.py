"""The production switches: ENVIRONMENT, DEBUG, and the hosts and origins of the given domains."""

from __future__ import annotations

from ..checks.environment import LOCAL_HOSTS, local_public_urls
from .base import CHANGED, NEEDS_INPUT, OK, Outcome, set_env

NAME = "env_file"
REPAIRS = ("env.missing", "env.debug", "env.environment", "env.allowed_hosts", "django.cors_local", "django.cors_allow_all",
           "env.local_url")


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
        # public URLs the settings read (SITE_URL, FRONTEND_URL, ...) still local: the first domain
        values.update({name: f"https://{domains[0]}" for name, _, _ in local_public_urls(ctx.facts)})
    elif not public(ctx.env.current("ALLOWED_HOSTS")) or local_public_urls(ctx.facts):
        needs.append("--domain")
    changed = set_env(ctx, values)
    if needs:
        return Outcome(NEEDS_INPUT, "ALLOWED_HOSTS and CORS need the production domain: pass --domain", needs=needs)
    if changed:
        return Outcome(CHANGED, f"set {', '.join(changed)}")
    return Outcome(OK, "production switches already set")
