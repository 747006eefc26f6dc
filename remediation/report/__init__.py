"""Report writers: text (rich), markdown (the seed report's shape), json, junit and sarif (CI).

Every writer returns a string; ``render`` scrubs it of every known secret value before anyone
sees it, so a secret that slipped into a detail or an error message still never leaves.
"""

from __future__ import annotations

from ..findings import HostReport, Severity
from ..masking import scrub
from . import json_report, junit, markdown, sarif, text

WRITERS = {"text": text.render, "markdown": markdown.render, "json": json_report.render, "junit": junit.render,
           "sarif": sarif.render}


def render(fmt: str, reports: list[HostReport], fail_level: Severity, secrets: set[str], color: bool = False) -> str:
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(WRITERS)})")
    kwargs = {"color": color} if fmt == "text" else {}
    return scrub(WRITERS[fmt](reports, fail_level, **kwargs), secrets)
