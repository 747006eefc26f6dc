"""Seed section 9: caches that a multi-process production cannot share."""

from .base import DJANGO, HIGH, applies_when, component_used, django_ready, finding_for, uses

finding = finding_for("cache")
PER_PROCESS = ("LocMemCache", "DummyCache", "FileBasedCache")


@applies_when(DJANGO, uses("cache"))
def per_process_cache(facts):
    if not django_ready(facts) or not component_used(facts, "cache", True):
        return []  # Django's default LocMem cache that nothing uses is no problem
    caches = facts.settings.get("CACHES") or {}
    local = {alias: c["BACKEND"].rsplit(".", 1)[-1] for alias, c in caches.items()
             if (c.get("BACKEND") or "").rsplit(".", 1)[-1] in PER_PROCESS}
    if not local:
        return []
    detail = ", ".join(f"{alias}: {backend}" for alias, backend in local.items())
    return [finding(id="cache.local", severity=HIGH, title="Cache is not shared between processes",
                    detail=f"{detail}; throttling, sessions and cached pages differ per worker (use Redis)",
                    fix="redis", applies_from="staging")]


CHECKS = (per_process_cache,)
