"""Seed section 7, when Django could not be asked at all: the probe ran out of time or was killed.

The probe's supervisor (remediation/probe/supervise.py) ends a probe at its timeout, or finds it
killed, and says so in the probe's error with a ``kind``; these checks turn that into a finding
instead of a crash or a wait without end.
"""

from .base import CRITICAL, MANUAL, finding_for

finding = finding_for("django")
STAGES = {
    "start": "before Django was imported",
    "settings": "while importing the settings",
    "setup": "while loading the apps (django.setup)",
    "read_settings": "while reading the settings",
    "database": "while connecting to the database",
    "checks": "while running Django's system checks",
    "migrations": "while loading the migrations",
    "static": "while looking for static files",
    "redis": "while pinging Redis",
    "urls": "while importing the URLconf",
}


def probe_interrupted(facts):
    error = facts.probe_error
    if not error or error.get("kind") not in ("timeout", "killed"):
        return []
    stage = STAGES.get(error.get("stage"), f"in stage {error.get('stage')}")
    where = f"; last seen at {error['where']}" if error.get("where") else ""
    if error["kind"] == "timeout":
        limit = facts.probe.get("probe_timeout")
        title = f"Django did not answer within {limit:g}s" if isinstance(limit, (int, float)) else "Django did not answer in time"
        return [finding(id="django.settings_timeout", severity=CRITICAL, title=title,
                        detail=f"{error['message']} ({stage}{where}); raise the limit with --probe-timeout "
                               "or the `probe_timeout` host var if the project is only slow",
                        fix=MANUAL, applies_from="development")]
    return [finding(id="django.probe_killed", severity=CRITICAL, title="The probe was killed before it could report",
                    detail=f"{error['message']} ({stage})", fix=MANUAL, applies_from="development")]


CHECKS = (probe_interrupted,)
