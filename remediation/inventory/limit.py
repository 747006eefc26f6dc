"""``select``: the hosts an Ansible ``--limit`` pattern picks, with Ansible's pattern rules."""

from __future__ import annotations

import fnmatch
import re

from .host_patterns import _is_ipv6
from .model import Host, Inventory, InventoryError

_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+):([0-9]*))\]$")


def _split_limit(inventory: Inventory, limit: str) -> list[str]:
    """Ansible's split: on commas if there is one, else on colons outside [brackets]."""
    whole = limit.strip()
    if "," in whole:
        parts = whole.split(",")
    elif whole.lstrip("!&") in inventory or whole.lstrip("!&") in inventory.groups or _is_ipv6(whole.lstrip("!&")):
        parts = [whole]
    else:
        parts = re.findall(r"(?:[^\s:\[\]]|\[[^\]]*\])+", whole)
    return [part.strip() for part in parts if part.strip()]


def select(inventory: Inventory, limit: str | None = None) -> list[Host]:
    """The hosts an Ansible ``--limit`` pattern selects, in inventory order, each once.

    ``None`` selects every host. Patterns are separated by ``,`` (or ``:``): host names, group
    names, globs (``web*``), ``~regex``, subscripts (``web[0]``, ``web[0:1]``), ``all``/``*``;
    ``&group`` keeps only hosts also in it, ``!pattern`` removes hosts. A pattern that matches
    no host or group, an empty pattern and a selection of no host are errors.
    """
    if not inventory.hosts:
        raise InventoryError(f"{inventory.path}: the inventory has no hosts")
    if limit is None:
        return list(inventory.hosts)
    patterns = _split_limit(inventory, limit)
    if not patterns:
        raise InventoryError(f"--limit {limit!r}: empty pattern")

    regular = [p for p in patterns if p[0] not in "!&"]
    intersect = [p[1:] for p in patterns if p[0] == "&"]
    exclude = [p[1:] for p in patterns if p[0] == "!"]
    unknown: list[str] = []

    def match(pattern: str) -> set[str]:
        found = _match(inventory, pattern)
        if found is None:
            unknown.append(pattern)
            return set()
        return found

    chosen: set[str] = set()
    for pattern in regular or ["all"]:
        chosen |= match(pattern)
    for pattern in intersect:
        chosen &= match(pattern)
    for pattern in exclude:
        chosen -= match(pattern)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise InventoryError(f"--limit: no host or group matches {names} in {inventory.path}")
    if not chosen:
        raise InventoryError(f"--limit {limit!r} selects no host in {inventory.path}")
    return [host for host in inventory.hosts if host.name in chosen]


def _match(inventory: Inventory, pattern: str) -> set[str] | None:
    """Host names one pattern (without ! or &) matches; None when it matches no host or group."""
    if not pattern:
        return None
    if inventory.get(pattern) is not None:
        return {pattern}
    subscript = None
    if not pattern.startswith("~"):
        found = _SUBSCRIPT.match(pattern)
        if found:
            pattern, index, start, end = found.groups()
            subscript = (int(index), None) if index is not None else (int(start), int(end) if end else -1)
    try:
        if pattern.startswith("~"):
            regex = re.compile(pattern[1:])
        else:
            regex = re.compile(fnmatch.translate(pattern))
    except re.error as exc:
        raise InventoryError(f"--limit: invalid pattern {pattern!r}: {exc}") from None

    groups = [name for name in inventory.groups if regex.match(name)]
    names: list[str] = []
    for group in groups:
        names += inventory.groups[group].hosts
    if not groups or pattern.startswith("~") or any(char in pattern for char in ".?*["):
        names += [host.name for host in inventory.hosts if regex.match(host.name)]
    if not names and not groups:
        return None
    wanted = set(names)
    ordered = [host.name for host in inventory.hosts if host.name in wanted]
    if subscript is None:
        return set(ordered)
    start, end = subscript
    if end is None:
        if not -len(ordered) <= start < len(ordered):
            raise InventoryError(f"--limit: {pattern}[{start}] is out of range ({len(ordered)} hosts)")
        return {ordered[start]}
    end = len(ordered) - 1 if end == -1 else end
    return set(ordered[start : end + 1])
