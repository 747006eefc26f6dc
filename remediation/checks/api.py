"""Seed section 12: the URL configuration and the OpenAPI schema."""

from collections import Counter

from .base import DJANGO, HIGH, LOW, MANUAL, MEDIUM, applies_when, django_ready, finding_for, installed_app

finding = finding_for("api")


@applies_when((lambda facts: "urls" in facts.probe, "the URLconf was not imported"))
def url_config(facts):
    error = (facts.probe.get("urls") or {}).get("error")
    if not error:
        return []
    return [finding(id="api.urls_error", severity=HIGH, title="URL configuration does not load",
                    detail=f"{error['type']}: {error['message']} at {error['where']}", fix=MANUAL,
                    applies_from="development")]


@applies_when((lambda facts: bool(facts.checks), "Django's system checks did not run"))
def schema_messages(facts):
    messages = [m for m in facts.checks.get("messages", []) if m["id"].startswith("drf_spectacular.")]
    if not messages:
        return []
    found = []
    for level, finding_id, severity, label in (("ERROR", "api.schema_errors", HIGH, "errors"),
                                               ("WARNING", "api.schema_warnings", MEDIUM, "warnings")):
        group = [m for m in messages if m["level_name"] == level]
        if not group:
            continue
        files = Counter(source_file(m["msg"]) for m in group)
        examples = "; ".join(without_file(m["msg"]) for m in group[:3])
        found.append(finding(id=finding_id, severity=severity, title=f"OpenAPI schema {label}",
                             detail=f"{len(group)} drf_spectacular {label} in {len(files)} file(s), e.g. {examples}",
                             fix=MANUAL, django_ids=tuple(sorted({m['id'] for m in group}))))
    return found


@applies_when(DJANGO)
def api_docs(facts):
    if not django_ready(facts) or (facts.probe.get("urls") or {}).get("error"):
        return []
    views = (facts.probe.get("urls") or {}).get("views") or []
    if any("Spectacular" in v or "SchemaView" in v for v in views):
        return []
    if not installed_app(facts, "rest_framework"):
        return []
    return [finding(id="api.no_docs", severity=LOW, title="No API schema endpoint",
                    detail="no schema or docs view (drf_spectacular or DRF's) in the root URLconf",
                    fix=MANUAL, applies_from="development")]


def source_file(message: str) -> str:
    """drf_spectacular prefixes its messages with the source file: '/path/views.py: Warning [...]'."""
    head, sep, _ = message.partition(": ")
    return head if sep and head.endswith(".py") else "?"


def without_file(message: str) -> str:
    head, sep, rest = message.partition(": ")
    text = rest if sep and head.endswith(".py") else message
    return text.strip().splitlines()[0][:160] if text.strip() else ""


CHECKS = (url_config, schema_messages, api_docs)
