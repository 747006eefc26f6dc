"""The readiness report in the seed report's structure, rendered from templates/report.md.j2.

Text from the project, its env, its host or an exception goes through the ``text`` or ``cell``
filter: one line, a ``<`` that could open an HTML tag as ``&lt;``, ``|`` escaped in table cells.
"""

from __future__ import annotations

import re
from datetime import date

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..findings import HostReport, Severity, blocked
from .checklist import checklist
from .rows import area_rows
from .text import shown_areas
from .. import resources

TEMPLATES = resources.TEMPLATES
TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
ICONS = {"critical": "❌", "high": "❌", "medium": "⚠️", "low": "ℹ️", "info": "ℹ️"}


def text(value) -> str:
    """Project text as data in markdown: one line, and no ``<`` that could open an HTML tag (CommonMark:
    ``<`` then a letter, ``/``, ``!`` or ``?``), so ``<6,>=5.2`` stays readable and ``<script>`` is inert."""
    return TAG_OPEN.sub("&lt;", " ".join(str(value).splitlines()))


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["text"] = text
    env.filters["cell"] = lambda value: text(value).replace("|", "\\|")
    env.filters["fenced"] = lambda value: " ".join(str(value).splitlines()).replace("`", "'")
    return env


def summary(facts: dict) -> list[tuple[str, str]]:
    """The seed's ENVIRONMENT SUMMARY, from the facts (nothing secret is in them)."""
    probe = facts.get("probe") or {}
    settings = probe.get("settings") or {}
    database = probe.get("database") or {}
    caches = settings.get("CACHES") or {}
    layer = ((settings.get("CHANNEL_LAYERS") or {}).get("default") or {}).get("BACKEND") or "none"
    git = facts.get("git") or {}
    node = facts.get("node") or {}
    short = lambda dotted: (dotted or "none").rsplit(".", 1)[-1]  # noqa: E731
    return [
        ("Python", (probe.get("python") or {}).get("version", "?")),
        ("Django", (probe.get("django") or {}).get("version", "?")),
        ("Settings", probe.get("settings_module") or "?"),
        ("Database", f"{database.get('vendor', '?')} ({'answers' if database.get('reachable') else 'does not answer'})"),
        ("Cache", ", ".join(f"{alias}: {short(c.get('BACKEND'))}" for alias, c in caches.items()) or "none"),
        ("Channel layer", short(layer)),
        ("Celery broker", settings.get("CELERY_BROKER_URL") or "none"),
        ("Git", f"{git.get('branch') or 'no branch'} at {(git.get('head') or 'no commit')[:12]}" if git.get("is_repo") else "not a repository"),
        ("Front end", ", ".join(node.get("frameworks") or []) or ("none" if not node.get("package_json") else "package.json")),
    ]


def render(reports: list[HostReport], fail_level: Severity) -> str:
    hosts = []
    for report in reports:
        hosts.append({
            "report": report,
            "areas": [(key, number, title, [f for f in report.findings if f.area == key]) for key, number, title in shown_areas(report.facts)],
            "rows": area_rows(report.facts, report.findings),
            "by_severity": [
                (str(s).upper(), [f for f in report.findings if f.severity == s and f.matters_in("production")])
                for s in (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)
            ],
            "checklist": checklist(report.findings, report.facts),
            "verdict": report.verdict.to_dict(),
            "blockers": [f for f in report.findings if f.severity >= fail_level and f.matters_in("production") and not f.waiver],
            "needs": report.needs_input,
            "blocked": blocked(report.findings, fail_level),
            "summary": summary(report.facts) if report.facts else [],
        })
    return environment().get_template("report.md.j2").render(
        hosts=hosts, icons=ICONS, today=date.today().isoformat(), fail_level=str(fail_level)
    )
