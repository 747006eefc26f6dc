"""Verify several URLs at once: one thread per URL, each with a hard deadline, so a server that
hangs in a way the per-request timeouts do not catch (a response trickled a byte at a time) still
ends as one finding, never a hang."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from ..findings import HostReport
from .observe import observe
from .rules import evaluate

REQUESTS_PER_URL = 4  # the longest sequential path: HTTP redirect, page, admin page, its stylesheet


def deadline_for(options) -> float:
    return options.timeout * REQUESTS_PER_URL + 2


def observe_all(urls: list[str], options) -> tuple[list[dict], set[str]]:
    """Each URL's observation, in the order given, and every cookie value seen (to scrub)."""
    results: dict[int, tuple[dict, set]] = {}

    def work(index, url):
        try:
            results[index] = observe(url, options)
        except Exception as exc:  # a bug must cost one URL one line, not the run a traceback
            results[index] = ({"url": url, "error": {"kind": "protocol", "message": f"{url}: verification failed: "
                                                                                     f"{type(exc).__name__}: {exc}"}},
                              set())

    threads = [threading.Thread(target=work, args=(i, u), daemon=True) for i, u in enumerate(urls)]
    for thread in threads:
        thread.start()
    limit = deadline_for(options)
    import time

    end = time.monotonic() + limit
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    observations, secrets = [], set()
    for index, url in enumerate(urls):
        if index in results:
            obs, found = results[index]
        else:
            obs, found = {"url": url, "error": {"kind": "timeout", "message": f"{url}: no complete answer within "
                                                                               f"{limit:g}s"}}, set()
        observations.append(obs)
        secrets |= found
    return observations, secrets


def url_report(obs: dict) -> HostReport:
    """One URL as a report entry: its findings and its observation (``facts["live"]``)."""
    specs, findings = evaluate(obs)
    return HostReport(host=urlsplit(obs["url"]).netloc, project=obs["url"], findings=findings,
                      facts={"live": {"urls": [obs]}}, status=reach_status(obs), checks=check_runs(specs, findings))


def reach_status(obs: dict) -> str:
    return "unreachable" if obs.get("error") and not obs.get("page") and obs["error"]["kind"] in (
        "dns", "refused", "timeout", "protocol") else "ok"


def check_runs(specs, findings) -> list:
    """One CheckRun per row the rules built (JUnit's test cases): failed when it names findings,
    passed when ok, skipped (with the row's reason) when its fact was not gathered or not asked for."""
    from ..checks.base import FAILED, PASSED, SKIPPED, CheckRun
    from ..report.rows.base import OK

    present = {f.id for f in findings}
    runs = []
    for component, state, detail, ids in specs:
        found = tuple(i for i in ids if i in present)
        status = FAILED if found else PASSED if state == OK else SKIPPED
        runs.append(CheckRun(component, "live", status, None if status != SKIPPED else f"{state}: {detail}", found))
    return runs


def verify_urls(urls: list[str], options) -> tuple[list[HostReport], set[str]]:
    observations, secrets = observe_all(urls, options)
    return [url_report(obs) for obs in observations], secrets
