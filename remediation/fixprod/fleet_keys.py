"""fix-prod on a fleet: the SECRET_KEY of each ``secret_key_group`` set, decided before any host plans.

    read every member's production env (SECRET_KEY, SECRET_KEY_FALLBACKS, the fallback dates),
    over the connection (and from the files around the project) its run then reuses; nothing written
      -> decide per set (fixes/shared_key)  -> each host's fix-prod plans exactly that
      -> the proof: each set's fingerprints from the audits before and after the run
         (drift.secret_key: fixed when every host of the set provably holds one key)

Members outside ``--limit`` are read (their keys count: a new host adopts the set's key) but
never written; a rotation must cover whole sets. A member that cannot be read changes the key
of no host of its set. A host that fails after the decision leaves the set split, which the
proof reports and the next run completes (the rotated key is the only one in nobody's fallbacks).
"""

from __future__ import annotations

import re
import secrets as secrets_module
from collections import defaultdict
from dataclasses import dataclass, field

from ..drift import secret_key_set_findings
from ..facts import ProjectError, collect
from ..fixes import shared_key
from ..fixes.fallback_dates import FallbackRecord, split, today
from ..fixes.secret_key import FALLBACKS
from ..runner import UsageError
from .planning import production_env

GROUP_VAR = "secret_key_group"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def group_of(host) -> str | None:
    """The host's set, or None (a per-host key). A value that is not a plain name is bad input."""
    value = host.vars.get(GROUP_VAR)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not NAME.match(value):
        raise UsageError(f"{host.name}: {GROUP_VAR} must be a name (letters, digits, '.', '_', '-'; at most 64), "
                         f"not {type(value).__name__ if not isinstance(value, str) else repr(value[:40])}")
    return value


def sets_of(hosts) -> dict[str, list]:
    """group -> its hosts, in inventory order."""
    sets = defaultdict(list)
    for host in hosts:
        group = group_of(host)
        if group:
            sets[group].append(host)
    return dict(sets)


def read_member(host, transport, options) -> tuple[shared_key.Member, dict]:
    """What the host's production env holds now, and the files around the project as read (the
    host's run starts from them instead of reading them again); writes nothing."""
    try:
        python = host.python or options.python or transport.default_python(host.project or options.project)
        collected = collect(host.project or options.project, python, None, transport)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None
    _, env, _ = production_env(transport, collected, host.env_file or options.env_file)
    record = FallbackRecord.load(transport, collected["root"])
    member = shared_key.Member(host.name, env.values.get("SECRET_KEY", ""), split(env.values.get(FALLBACKS, "")), record)
    return member, collected


@dataclass
class Prepared:
    shared: dict = field(default_factory=dict)  # host name -> SharedKey, for the selected hosts of a set
    secrets: set = field(default_factory=set, repr=False)  # every key seen and planned: never printed
    run_key: str = field(default="", repr=False)  # the run's fingerprint key
    touched: dict = field(default_factory=dict)  # group -> its hosts (every member, selected or not)
    vault: object = field(default=None, repr=False)  # the passwords --store-in-vault encrypts with
    collected: dict = field(default_factory=dict, repr=False)  # host name -> the files around its project, as read


def prepare(options, every, selected, read_hosts) -> Prepared:
    """The sets' keys, decided before any host plans. ``read_hosts(hosts, work)`` runs ``work`` on
    hosts as the fleet does (over the connection each host's run then reuses); nothing is written."""
    sets = sets_of(every)
    chosen = {h.name for h in selected}
    touched = {g: members for g, members in sets.items() if chosen & {h.name for h in members}}
    if options.rotate_secret_key:
        for group, members in touched.items():
            outside = [h.name for h in members if h.name not in chosen]
            if outside:
                raise UsageError(f"--rotate-secret-key rotates whole sets: --limit leaves out {', '.join(outside)} "
                                 f"of {GROUP_VAR} {group}")
    prepared = Prepared(run_key=secrets_module.token_hex(16), touched=touched)
    if options.store_in_vault:
        if not touched:
            raise UsageError(f"--store-in-vault: no selected host has {GROUP_VAR}; nothing would be stored")
        from .vault_store import check

        prepared.vault = check(options, touched)
    if not touched:
        return prepared
    readers = [h for members in touched.values() for h in members]
    results = {run.host.name: run for run in read_hosts(readers, lambda host, transport: read_member(host, transport, options))}
    seen = set()
    for group, members in touched.items():
        read = []
        for host in members:
            run = results[host.name]
            if run.result is not None:
                member, prepared.collected[host.name] = run.result
                read.append(member)
                seen |= {member.key, *member.fallbacks}
            else:
                read.append(shared_key.Member(host.name, error=f"{run.status}: {run.error}"))
        for name, plan in shared_key.decide(group, read, options.rotate_secret_key, options.drop_fallbacks_older_than,
                                            today(), prepared.run_key).items():
            if name in chosen:
                prepared.shared[name] = plan
                seen |= {plan.key, *plan.fallbacks}
    prepared.secrets = {v for v in seen if v}
    return prepared


def fingerprint_after(run) -> str | None:
    settings = ((run.after_facts or {}).get("probe") or {}).get("settings") or {}
    return (settings.get("SECRET_KEY") or {}).get("fingerprint") if not run.error else None


def prove(runs, touched: dict, selected) -> None:
    """Each set's drift.secret_key before and after the run, added to its hosts' findings: the
    audit after proves (or not) that every host of the set holds one key."""
    chosen = {h.name for h in selected}
    by_host = {run.host: run for run in runs}
    for group, members in touched.items():
        names = [h.name for h in members if h.name in chosen]
        outside = [h.name for h in members if h.name not in chosen]
        before = {n: by_host[n].fingerprint_before for n in names}
        after = {n: fingerprint_after(by_host[n]) for n in names}
        for moment, fingerprints in (("before", before), ("after", after)):
            for name, finding in secret_key_set_findings(group, fingerprints).items():
                run = by_host[name]
                if moment == "before":
                    run.before = [*run.before, finding]
                else:
                    run.after = [*run.after, finding]
        for name in names:
            if outside:
                by_host[name].notes.append(f"{GROUP_VAR} {group}: {', '.join(outside)} outside --limit: read for the "
                                           "set's key, not written, not compared")



def check_key_options(options, inventory) -> None:
    """--drop-fallbacks-older-than DAYS (a whole number, 0 or more) and --store-in-vault FILE (a fleet's)."""
    days = options.drop_fallbacks_older_than
    if days is not None and not isinstance(days, int):
        text = str(days).strip()
        if not text.isdigit() or len(text) > 6:
            raise UsageError(f"--drop-fallbacks-older-than: {text[:20]!r} is not a whole number of days (0 or more)")
        options.drop_fallbacks_older_than = int(text)
    elif isinstance(days, int) and days < 0:
        raise UsageError(f"--drop-fallbacks-older-than: {days} is not a whole number of days (0 or more)")
    path = options.store_in_vault
    if path is not None:
        if not inventory:
            raise UsageError(f"--store-in-vault stores the key of a {GROUP_VAR}: pass -i INVENTORY too")
        if not str(path).strip():
            raise UsageError("--store-in-vault: empty path")
