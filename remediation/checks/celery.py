"""Seed section 10: the Celery broker, result backend and serializer."""

from .base import DJANGO, HIGH, MANUAL, MEDIUM, applies_when, component_used, django_ready, finding_for

finding = finding_for("celery")


def _uses_celery(facts):
    names = {r["name"].lower() for r in facts.requirements}
    guess = "celery" in names or any(k.startswith("CELERY_") for k in facts.settings)
    return django_ready(facts) and component_used(facts, "celery", guess)


CELERY = (_uses_celery, "the project does not use Celery")


@applies_when(DJANGO, CELERY)
def broker(facts):
    if not _uses_celery(facts) or facts.settings.get("CELERY_BROKER_URL"):
        return []
    return [finding(id="celery.no_broker", severity=HIGH, title="Celery has no broker",
                    detail="CELERY_BROKER_URL is not set; tasks cannot be queued", fix="redis", applies_from="staging")]


@applies_when(DJANGO, CELERY)
def serializer(facts):
    if not _uses_celery(facts):
        return []
    serializer = facts.settings.get("CELERY_TASK_SERIALIZER")
    accept = facts.settings.get("CELERY_ACCEPT_CONTENT") or []
    if serializer != "pickle" and "pickle" not in accept:
        return []
    return [finding(id="celery.pickle", severity=HIGH, title="Celery accepts pickle",
                    detail="pickle lets whoever can write to the broker run code", fix=MANUAL)]


@applies_when(DJANGO, CELERY)
def always_eager(facts):
    if not _uses_celery(facts) or not facts.settings.get("CELERY_TASK_ALWAYS_EAGER"):
        return []
    return [finding(id="celery.eager", severity=MEDIUM, title="Celery runs tasks inline",
                    detail="CELERY_TASK_ALWAYS_EAGER is True; no worker is used", fix=MANUAL)]


CHECKS = (broker, serializer, always_eager)
