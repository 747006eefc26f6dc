"""How a finding's fix and its waiver read in one line: shared by the JUnit and SARIF writers."""

from __future__ import annotations

from ..findings import MANUAL, Finding


def fix_text(finding: Finding) -> str:
    needs = [n for n in finding.needs]
    supply = f"; needs {', '.join(needs)}" if needs else ""
    if finding.fix == MANUAL:
        return f"manual: only a person can repair this{supply}"
    return f"invoke fix-prod repairs it (fix {finding.fix}){supply}"


def waiver_text(waiver: dict) -> str:
    """A waiver as the config helper writes it on a finding: ``{reason, expires, host}``."""
    reason = str(waiver.get("reason") or "no reason given")
    parts = [f"waived: {reason}"]
    if waiver.get("expires"):
        parts.append(f"until {waiver['expires']}")
    if waiver.get("host"):
        parts.append(f"on {waiver['host']}")
    return " ".join(parts)
