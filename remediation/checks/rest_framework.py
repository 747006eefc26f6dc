"""Seed section 8: DRF's defaults for authentication, permissions, throttling and pagination."""

from .base import DJANGO, HIGH, LOW, MANUAL, MEDIUM, applies_when, django_ready, finding_for, installed_app

finding = finding_for("rest_framework")


def _drf(facts):
    return django_ready(facts) and installed_app(facts, "rest_framework")


DRF = (_drf, "rest_framework is not in INSTALLED_APPS")


@applies_when(DJANGO, DRF)
def default_permission(facts):
    if not _drf(facts):
        return []
    classes = (facts.settings.get("REST_FRAMEWORK") or {}).get("DEFAULT_PERMISSION_CLASSES")
    if classes and not any(c.endswith("AllowAny") for c in classes):
        return []
    return [finding(id="rest_framework.allow_any", severity=HIGH, title="API open by default",
                    detail="DEFAULT_PERMISSION_CLASSES is AllowAny (DRF's default); every view without its own "
                           "permission_classes is public", fix=MANUAL)]


@applies_when(DJANGO, DRF)
def throttling(facts):
    if not _drf(facts):
        return []
    rest = facts.settings.get("REST_FRAMEWORK") or {}
    if rest.get("DEFAULT_THROTTLE_CLASSES") and rest.get("DEFAULT_THROTTLE_RATES"):
        return []
    return [finding(id="rest_framework.no_throttling", severity=MEDIUM, title="No API throttling",
                    detail="DEFAULT_THROTTLE_CLASSES or DEFAULT_THROTTLE_RATES unset", fix=MANUAL)]


@applies_when(DJANGO, DRF)
def pagination(facts):
    if not _drf(facts):
        return []
    rest = facts.settings.get("REST_FRAMEWORK") or {}
    if rest.get("DEFAULT_PAGINATION_CLASS") and rest.get("PAGE_SIZE"):
        return []
    return [finding(id="rest_framework.no_pagination", severity=LOW, title="No default pagination",
                    detail="list endpoints return every row", fix=MANUAL)]


CHECKS = (default_permission, throttling, pagination)
