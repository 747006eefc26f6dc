"""``invoke audit --live URL``: the audit's report plus what the URLs show and where the two disagree."""

from __future__ import annotations

from dataclasses import replace

from ..checks.base import FAILED, PASSED, CheckRun
from .agreement import agreement_findings
from .run import check_runs, observe_all
from .rules import evaluate


def add_live(report, urls: list[str], options) -> set[str]:
    """Verify ``urls``, add the live and agreement findings to ``report`` and the observations to
    its facts (``facts["live"]``); returns the cookie values seen (to scrub)."""
    probe = report.facts.get("probe") or {}
    settings = probe.get("settings") or {}
    components = settings.get("COMPONENTS") or {}
    channels = components.get("channels") if isinstance(components, dict) else None
    if isinstance(channels, dict) and not channels.get("used"):
        options.ws_path = None  # no Channels: no WebSocket endpoint to prove
    observations, secrets = observe_all(urls, options)
    session = settings.get("SESSION_COOKIE_NAME") or "sessionid"
    csrf = settings.get("CSRF_COOKIE_NAME") or "csrftoken"
    for obs in observations:
        specs, found = evaluate(obs, session, csrf)
        report.findings += found
        report.checks += [replace(run, name=f"{obs['url']} {run.name}") for run in check_runs(specs, found)]
    agreement = agreement_findings(probe, observations)
    report.findings += agreement
    report.checks.append(CheckRun("settings_agree_with_responses", "live", FAILED if agreement else PASSED, None,
                                  tuple(dict.fromkeys(f.id for f in agreement))))
    report.facts["live"] = {"urls": observations}
    return secrets
