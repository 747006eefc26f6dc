"""Waivers, as Chef InSpec's: a finding id (optionally on one host) accepted for a reason until a date.

A waived finding is still reported, marked waived (``Finding.waiver``), and does not block; from its
expiry date on (InSpec: a waiver whose date has come no longer applies) it blocks again and the
report says the waiver expired (``Finding.expired_waiver``). A waiver is a dated promise: one without
a reason or a date, naming an id no check reports, or dated more than a year ahead is refused.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from .finding_ids import known

MAX_DAYS = 366  # a waiver is reviewed at least once a year
FIELDS = ("id", "host", "reason", "expires")


class WaiverError(ValueError):
    """A malformed waiver: ``file:line: what``."""


@dataclass(frozen=True)
class Waiver:
    id: str
    reason: str
    expires: datetime.date
    host: str | None = None

    def to_dict(self) -> dict:
        return {"reason": self.reason, "expires": self.expires.isoformat(), "host": self.host}

    def applies(self, finding_id: str, host: str) -> bool:
        return self.id == finding_id and (self.host is None or self.host == host)


def today() -> datetime.date:
    return datetime.date.today()


def parse_waivers(entries, where, now: datetime.date | None = None) -> list[Waiver]:
    """Check every waiver of the config file; ``where(index, key)`` names its line. Raises the
    config's error (one line) on the first mistake."""
    from .config import ConfigError

    now = now or today()
    if not isinstance(entries, list):
        raise ConfigError(f"{where()}: waivers must be a list of {{id, reason, expires, host}}")
    waivers = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"{where(index)}: a waiver is a mapping with id, reason, expires (and host)")
        for key in entry:
            if key not in FIELDS:
                raise ConfigError(f"{where(index, key, '<key>')}: unknown waiver field {key!r} "
                                  f"(known: {', '.join(FIELDS)})")
        for key in ("id", "reason", "expires"):
            if entry.get(key) in (None, ""):
                raise ConfigError(f"{where(index)}: waiver without {key!r} (every waiver needs id, reason and expires)")
        finding_id, reason, host = entry["id"], entry["reason"], entry.get("host")
        for key, value in (("id", finding_id), ("reason", reason), ("host", host)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"{where(index, key)}: waiver {key} must be a non-empty string")
        if not known(finding_id):
            raise ConfigError(f"{where(index, 'id')}: waiver for {finding_id!r}: no check reports that id "
                              "(see the README's findings table)")
        expires = expiry(entry["expires"], lambda: where(index, "expires"))
        if (expires - now).days > MAX_DAYS:
            raise ConfigError(f"{where(index, 'expires')}: waiver for {finding_id!r} expires {expires.isoformat()}, "
                              f"more than a year ahead: waive for at most {MAX_DAYS} days and renew")
        waiver = Waiver(finding_id.strip(), " ".join(reason.split()), expires, host.strip() if host else None)
        if any(w.id == waiver.id and w.host == waiver.host for w in waivers):
            raise ConfigError(f"{where(index)}: a second waiver for {finding_id!r}"
                              f"{' on ' + waiver.host if waiver.host else ''}: keep one")
        waivers.append(waiver)
    return waivers


def expiry(value, where) -> datetime.date:
    """YAML gives an unquoted 2026-12-31 as a date, a quoted one as a string: both are fine."""
    from .config import ConfigError

    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where()}: waiver expires {str(value)!r}: give a date as YYYY-MM-DD") from None


def apply(findings: list, host: str, waivers: list[Waiver], now: datetime.date | None = None) -> list:
    """The findings with their waiver (in force) or expired waiver set; the most specific waiver
    (the one naming the host) wins."""
    if not waivers:
        return findings
    now = now or today()
    out = []
    for finding in findings:
        matching = sorted((w for w in waivers if w.applies(finding.id, host)), key=lambda w: w.host is None)
        if not matching:
            out.append(finding)
        elif now < matching[0].expires:
            out.append(replace(finding, waiver=matching[0].to_dict()))
        else:
            out.append(replace(finding, expired_waiver=matching[0].to_dict()))
    return out


def apply_to_reports(reports: list, waivers: list[Waiver] | None = None) -> None:
    """Every host report's findings (audit, verify), in place."""
    from .config import active

    waivers = active().waivers if waivers is None else waivers
    for report in reports:
        report.findings = apply(report.findings, report.host, waivers)
