"""Ansible INI inventories: sections, ``key=value`` host lines, values read as Ansible does."""

from __future__ import annotations

import ast
import re
import shlex
import warnings

from .host_patterns import _expand_host_pattern, _is_ipv6
from .raw import _fail, _Raw


_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")


def _ini_value(text: str):
    """A value as Ansible's INI plugin reads it: a Python literal if it is one, else the string."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return _plain(value)


def _plain(value):
    if isinstance(value, (list, tuple, set)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is ...:  # literal_eval reads "..." as Ellipsis
        return "..."
    if isinstance(value, complex):
        return str(value)
    return value


def _parse_ini(text: str, raw: _Raw) -> None:
    declared = {"all", "ungrouped"}
    pending_vars: dict[str, int] = {}  # [g:vars] for a group not (yet) declared -> its line
    pending_children: dict[str, list[tuple[str, int]]] = {}  # child -> [(parent, line)]
    group, state = "ungrouped", "hosts"
    for number, original in enumerate(text.splitlines(), 1):
        line = original.strip()
        if not line or line[0] in "#;":
            continue
        at = raw.at(number)
        section = _SECTION.match(line)
        if section:
            group, state = section.group(1), section.group(2) or "hosts"
            if state not in ("hosts", "vars", "children"):
                _fail(at, f"unknown section type {state!r} in {line!r} (expected hosts, vars or children)")
            raw.group(group, at)
            if state == "vars":
                if group not in declared:
                    pending_vars.setdefault(group, number)
            else:
                declared.add(group)
            continue
        bracketed = re.match(r"^\[([^\]]*)\]", line)
        if line.startswith("[") and not (bracketed and _is_ipv6(bracketed.group(1))):  # [ipv6]:port is a host
            _fail(at, f"cannot parse {line!r} (a section is [group], [group:vars] or [group:children], without spaces)")
        if state == "hosts":
            _ini_host_line(line, group, number, raw)
        elif state == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip() or " " in key.strip():
                _fail(at, f"cannot parse {line!r} (expected key=value in [{group}:vars])")
            raw.groups[group].vars.set(key.strip(), _ini_value(value.strip()), at)
        else:
            child = _GROUP_NAME.match(line)
            if not child:
                _fail(at, f"cannot parse {line!r} (expected a group name in [{group}:children])")
            pending_children.setdefault(child.group(1), []).append((group, number))

    for child, parents in pending_children.items():
        for parent, number in parents:
            if child not in declared:
                _fail(raw.at(number), f"[{parent}:children] includes undefined group {child!r}")
            raw.add_child(parent, child)
    for name, number in pending_vars.items():
        if name not in declared:
            _fail(raw.at(number), f"[{name}:vars] for undefined group {name!r}")


def _ini_host_line(line: str, group: str, number: int, raw: _Raw) -> None:
    at = raw.at(number)
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        _fail(at, f"cannot parse {line!r} ({exc})")
    if not tokens:
        return
    if "=" in tokens[0]:
        _fail(at, f"cannot parse {line!r} (a host line starts with the host name)")
    names, port = _expand_host_pattern(tokens[0], at, line)
    assignments = []
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep or not key:
            _fail(at, f"cannot parse {line!r} (expected key=value, got {token!r})")
        assignments.append((key, _ini_value(value)))
    for name in names:
        host = raw.host(name, at, group=group)
        for key, value in assignments:
            host.vars.set(key, value, at)
        if port is not None:
            host.vars.set("ansible_port", port, at)
