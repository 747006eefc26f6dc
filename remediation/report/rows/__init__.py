"""The seed report's table rows per area: what is configured, with a status and the observed detail.

Each area's builder reads the facts (the JSON-able document the audit gathered) and returns rows.
A row names the findings that concern it; its status is then the worst of those findings
(critical or high ❌, otherwise ⚠️), else what the builder observed. A fact that was never
gathered is ``unknown``, said plainly; a component the project does not use is ``not used``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...findings import Severity
from . import django_rows, project_rows
from .base import ERROR, NOT_USED, OK, UNKNOWN, WARNING, View

ICONS = {OK: "✅", WARNING: "⚠️", ERROR: "❌", UNKNOWN: "unknown", NOT_USED: "not used"}


def live_rows(view: View) -> list:
    """The live area (audit --live): each verified URL's rows, from remediation/verify."""
    from ...verify.rules import evaluate

    observations = (view.facts.get("live") or {}).get("urls") or []
    specs = []
    for obs in observations:
        for component, state, detail, ids in evaluate(obs)[0]:
            specs.append((f"{obs['url']} {component}" if len(observations) > 1 else component, state, detail, ids))
    if observations:
        ids = tuple(sorted(i for i in view.by_id if i.startswith("agreement.")))
        if not view.django_ready:
            specs.append(("Settings vs the wire", UNKNOWN, view.probe_failure(), ()))
        else:
            detail = f"disagree: {', '.join(ids)}" if ids else "the responses show what the settings say"
            specs.append(("Settings vs the wire", OK, detail, ids))
    return specs


BUILDERS = {**project_rows.BUILDERS, **django_rows.BUILDERS, "live": live_rows}


@dataclass
class Row:
    component: str
    status: str
    detail: str
    findings: list[str] = field(default_factory=list)

    @property
    def icon(self) -> str:
        return ICONS[self.status]

    def to_dict(self) -> dict:
        return {"component": self.component, "status": self.status, "detail": self.detail, "findings": self.findings}


def resolve(spec, by_id: dict) -> Row:
    """A builder's (component, observed state, detail, finding ids) as a row with its final status."""
    component, state, detail, ids = spec
    present = [i for i in ids if i in by_id]
    status = state
    if state not in (UNKNOWN, NOT_USED) and present:
        worst = max(by_id[i].severity for i in present)
        status = ERROR if worst >= Severity.HIGH else WARNING
    return Row(component, status, detail, present)


def area_rows(facts: dict, findings) -> dict[str, list[Row]]:
    """Rows per area key, in the seed's order; areas without rows (drift) are left out."""
    if not facts:
        return {}
    by_id = {f.id: f for f in findings}
    # A finding whose needs name a variable concerns that variable's row (env area).
    needs = {}
    for f in findings:
        for key in f.needs:
            needs.setdefault(key, []).append(f.id)
    view = View(facts, by_id, needs)
    rows = {}
    for area, build in BUILDERS.items():
        specs = build(view)
        if specs:
            rows[area] = [resolve(spec, by_id) for spec in specs]
    return rows


__all__ = ["Row", "area_rows", "ICONS", "OK", "WARNING", "ERROR", "UNKNOWN", "NOT_USED"]
