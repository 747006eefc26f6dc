"""Our YAML format (top-level ``vars``, ``groups``, ``hosts``), read strictly.

Unlike Ansible's formats, a group may only name hosts and groups defined in the file."""

from __future__ import annotations

from .raw import GROUP_KEYS, _fail, _kind, _Raw, _yaml_vars
from .yaml_lines import _Map, _Seq

OUR_KEYS = ("vars", "groups", "hosts")


def _names(value, raw: _Raw, line: int, what: str) -> list[tuple[str, int]]:
    """A list of names (or one name) with the line of each."""
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [(str(value), line)]
    if isinstance(value, list):
        names = []
        for index, item in enumerate(value):
            at = value.line_of(index) if isinstance(value, _Seq) else line
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                _fail(raw.at(at), f"{what} must be a list of names, got {_kind(item)}")
            names.append((str(item), at))
        return names
    if isinstance(value, dict):  # {web1: null, web2: null} also reads as a list of names
        return [(str(key), value.line_of(key) if isinstance(value, _Map) else line) for key in value]
    _fail(raw.at(line), f"{what} must be a list of names, got {_kind(value)}")


def _parse_ours(data: _Map, raw: _Raw) -> None:
    for key in data:
        if key not in OUR_KEYS:
            _fail(raw.at(data.line_of(key)), f"unknown key {key!r} (expected {', '.join(OUR_KEYS)})")

    top = data.get("vars")
    if top is not None:
        if not isinstance(top, dict):
            _fail(raw.at(data.line_of("vars")), f"'vars' must be a mapping, got {_kind(top)}")
        _yaml_vars(raw.groups["all"].vars, top, raw)

    hosts = data.get("hosts")
    if hosts is not None and not isinstance(hosts, dict):
        _fail(raw.at(data.line_of("hosts")), f"'hosts' must map host names to their settings, got {_kind(hosts)}")
    for name, settings in (hosts or {}).items():
        line = hosts.line_of(name)
        if name is None or isinstance(name, bool) or not str(name).strip():
            _fail(raw.at(line), f"invalid host name {name!r}")
        host = raw.host(str(name), raw.at(line))
        if settings is None:
            continue
        if not isinstance(settings, dict):
            _fail(raw.at(line), f"host {str(name)!r} must be a mapping of settings, got {_kind(settings)}")
        _yaml_vars(host.vars, settings, raw)

    groups = data.get("groups")
    if groups is not None and not isinstance(groups, dict):
        _fail(raw.at(data.line_of("groups")), f"'groups' must map group names to groups, got {_kind(groups)}")
    groups = groups or _Map()
    for name in groups:
        line = groups.line_of(name)
        if name in ("all", "ungrouped"):
            _fail(raw.at(line), f"group {name!r} is implicit: set variables for every host in the top-level 'vars'")
        raw.group(str(name), raw.at(line))
    for name, body in groups.items():
        line, name = groups.line_of(name), str(name)
        if body is None:
            continue
        if not isinstance(body, dict):
            _fail(raw.at(line), f"group {name!r} must be a mapping with hosts, vars, children, got {_kind(body)}")
        for key in body:
            if key not in GROUP_KEYS:
                expected = ", ".join(GROUP_KEYS)
                _fail(raw.at(body.line_of(key)), f"group {name!r}: unknown key {key!r} (expected {expected})")
        for host, at in _names(body.get("hosts"), raw, body.line_of("hosts"), f"hosts of group {name!r}"):
            if host not in raw.hosts:
                _fail(raw.at(at), f"group {name!r} lists unknown host {host!r} (define it under 'hosts:')")
            raw.host(host, raw.hosts[host].where, group=name)
        for child, at in _names(body.get("children"), raw, body.line_of("children"), f"children of group {name!r}"):
            if child not in raw.groups or child in ("all", "ungrouped"):
                _fail(raw.at(at), f"group {name!r} has unknown child group {child!r}")
            raw.add_child(name, child)
        group_vars = body.get("vars")
        if group_vars is not None:
            if not isinstance(group_vars, dict):
                what = _kind(group_vars)
                _fail(raw.at(body.line_of("vars")), f"vars of group {name!r} must be a mapping, got {what}")
            _yaml_vars(raw.groups[name].vars, group_vars, raw)
