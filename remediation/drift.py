"""Drift: hosts that serve one app should agree on settings, migrations, commit and SECRET_KEY.

Hosts are one app when they share the ``app`` var (all hosts of a run without one). For each
aspect the majority value is taken as the reference and every host that differs gets a finding
naming the hosts on each side. SECRET_KEY is compared by a keyed hash made in the probe with a
key new to each run, never by the key.

Hosts with a ``secret_key_group`` var are compared for SECRET_KEY within that set only (and not
with the rest of their app): there no majority counts, every host must hold the same key, so
every host of a split set gets the finding, with each host's fingerprint; a host whose key is
unknown (its settings did not import) leaves the set unproven, which is a finding too.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict

from .findings import Finding, Severity

AREA = "drift"


def _settings(facts: dict) -> dict:
    return (facts.get("probe") or {}).get("settings") or {}


def _aspects(facts: dict) -> dict:
    """What is compared; paths inside the project are made relative, so only real differences count."""
    settings = _settings(facts)
    root = facts.get("root") or "\0"
    migrations = (facts.get("probe") or {}).get("migrations") or {}
    applied = {app: sorted(state.get("applied", [])) for app, state in (migrations.get("apps") or {}).items()}
    return {
        "settings": {k: json.dumps(v, sort_keys=True, default=str).replace(root, "<root>")
                     for k, v in settings.items() if k != "SECRET_KEY"},
        "migrations": json.dumps(applied, sort_keys=True),
        "commit": (facts.get("git") or {}).get("head") or "none",
        "secret_key": (settings.get("SECRET_KEY") or {}).get("fingerprint") or "none",
    }


def _split(values: dict[str, str]) -> tuple[str, list[str]]:
    """The majority value and the hosts that do not have it."""
    reference, _ = Counter(values.values()).most_common(1)[0]
    return reference, sorted(h for h, v in values.items() if v != reference)


SET_TITLE = "SECRET_KEY differs between hosts of one secret_key_group"


def secret_key_set_findings(group: str, fingerprints: dict[str, str | None]) -> dict[str, Finding]:
    """host -> drift.secret_key for every host of a set whose hosts do not provably hold one key."""
    known = {fp for fp in fingerprints.values() if fp}
    if len(fingerprints) < 2 or (len(known) == 1 and all(fingerprints.values())):
        return {}
    shown = ", ".join(f"{host}: {'key ' + fp if fp else 'unknown (not reached, or its settings did not import)'}"
                      for host, fp in fingerprints.items())
    what = "not every key could be read" if len(known) <= 1 else "the hosts hold different keys"
    detail = (f"secret_key_group {group}: {what} ({shown}); sessions and signatures made on one host fail on "
              "the others: fix-prod -i INVENTORY gives the set one key")
    return {host: Finding("drift.secret_key", Severity.HIGH, AREA, SET_TITLE, detail, "secret_key", "staging")
            for host in fingerprints}


def drift_findings(reports) -> dict[str, list[Finding]]:
    """host name -> drift findings, for every group of at least two audited hosts."""
    groups = defaultdict(list)
    for report in reports:
        if report.status == "ok" and report.facts:
            groups[report.facts.get("app") or ""].append(report)
    found: dict[str, list[Finding]] = defaultdict(list)
    sets = defaultdict(dict)
    for report in reports:
        group = (report.facts or {}).get("secret_key_group")
        if group:  # unreachable members too: an unknown key leaves the set unproven
            sets[group][report.host] = _aspects(report.facts)["secret_key"] if report.status == "ok" else None
    for group, fingerprints in sets.items():
        for host, finding in secret_key_set_findings(group, {h: None if fp == "none" else fp
                                                             for h, fp in fingerprints.items()}).items():
            found[host].append(finding)
    for members in groups.values():
        if len(members) < 2:
            continue
        aspects = {r.host: _aspects(r.facts) for r in members}
        keys = sorted({k for a in aspects.values() for k in a["settings"]})
        differing = [k for k in keys if len({a["settings"].get(k) for a in aspects.values()}) > 1]
        if differing:
            digest = {h: hashlib.sha256(json.dumps([a["settings"].get(k) for k in differing]).encode()).hexdigest()
                      for h, a in aspects.items()}
            _, odd = _split(digest)
            for host in odd:
                found[host].append(Finding("drift.settings", Severity.MEDIUM, AREA, "Settings differ between hosts",
                                           f"{', '.join(differing)} differ from the other hosts", "manual", "staging"))
        for aspect, finding_id, severity, title in (
            ("migrations", "drift.migrations", Severity.HIGH, "Migration state differs between hosts"),
            ("commit", "drift.commit", Severity.MEDIUM, "Deployed commit differs between hosts"),
            ("secret_key", "drift.secret_key", Severity.HIGH, "SECRET_KEY differs between hosts"),
        ):
            values = {h: a[aspect] for h, a in aspects.items()}
            if aspect == "secret_key":  # hosts of a secret_key_group are compared within their set only
                values = {h: v for h, v in values.items() if not next(
                    r for r in members if r.host == h).facts.get("secret_key_group")}
                if len(values) < 2:
                    continue
            reference, odd = _split(values)
            for host in odd:
                others = sorted(h for h, v in values.items() if v == reference)
                detail = f"{host} differs from {', '.join(others)}"
                if aspect == "commit":
                    detail = f"{host} is at {values[host][:12]}, {', '.join(others)} at {reference[:12]}"
                found[host].append(Finding(finding_id, severity, AREA, title, detail, "manual", "staging"))
    return found
