"""Seed section 2: Docker, compose files, and whether the Redis the configuration names answers."""

from .base import HIGH, INFO, LOW, MANUAL, applies_when, finding_for

finding = finding_for("services")


@applies_when((lambda facts: bool(facts.services.compose_files), "no compose files"))
def docker_engine(facts):
    if facts.services.docker_engine or not facts.services.compose_files:
        return []
    return [finding(id="services.docker_unavailable", severity=INFO, title="Docker engine not running",
                    detail=f"{len(facts.services.compose_files)} compose file(s) present but no engine answers "
                           f"({facts.services.docker_error}); services must run natively or be managed",
                    fix=MANUAL, applies_from="development")]


def compose_files(facts):
    if facts.services.compose_files:
        return []
    return [finding(id="services.no_compose", severity=LOW, title="No compose files",
                    detail="no docker-compose*.yml or compose*.yml at the project root or two folders below it",
                    fix=MANUAL, applies_from="production")]


@applies_when((lambda facts: "redis" in facts.probe, "Redis was not looked at (Django's settings could not be read)"))
def redis_unreachable(facts):
    down = [r for r in facts.probe.get("redis") or [] if not r.get("reachable")]
    if not down:
        return []
    detail = "; ".join(f"{r['url']} (used by {', '.join(r['used_by'])}): {r.get('error') or 'no PONG'}" for r in down)
    return [finding(id="services.redis_unreachable", severity=HIGH, title="Redis does not answer",
                    detail=detail, fix=MANUAL, applies_from="staging")]


CHECKS = (docker_engine, compose_files, redis_unreachable)
