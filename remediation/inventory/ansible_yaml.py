"""Ansible YAML inventories: nested groups with ``hosts``, ``children`` and ``vars``."""

from __future__ import annotations

from .host_patterns import _expand_host_pattern
from .raw import GROUP_KEYS, _fail, _kind, _Raw, _yaml_vars
from .yaml_lines import _Map


def _parse_ansible_yaml(data: _Map, raw: _Raw) -> None:
    for name, body in data.items():
        _ansible_yaml_group(str(name), body, data.line_of(name), raw)


def _ansible_yaml_group(name: str, body, line: int, raw: _Raw) -> None:
    raw.group(name, raw.at(line))
    if body is None:
        return
    if not isinstance(body, dict):
        _fail(raw.at(line), f"group {name!r} must be a mapping with hosts, children, vars, got {_kind(body)}")
    for key, section in body.items():
        at = body.line_of(key)
        if key not in GROUP_KEYS:
            _fail(raw.at(at), f"group {name!r}: unexpected key {key!r} (expected hosts, children, vars)")
        if section is None:
            continue
        if isinstance(section, str):  # Ansible accepts "hosts: web1" for one host
            section = _Map({section: None})
            section.line = at
        if not isinstance(section, dict):
            _fail(raw.at(at), f"group {name!r}: {key!r} must be a mapping, got {_kind(section)}")
        if key == "vars":
            _yaml_vars(raw.groups[name].vars, section, raw)
        elif key == "children":
            for child, child_body in section.items():
                _ansible_yaml_group(str(child), child_body, section.line_of(child), raw)
                raw.add_child(name, str(child))
        else:
            for pattern, host_vars in section.items():
                host_line = section.line_of(pattern)
                names, port = _expand_host_pattern(str(pattern), raw.at(host_line))
                if host_vars is not None and not isinstance(host_vars, dict):
                    what = _kind(host_vars)
                    _fail(raw.at(host_line), f"host {str(pattern)!r} must be a mapping of variables, got {what}")
                for host_name in names:
                    host = raw.host(host_name, raw.at(host_line), group=name)
                    if host_vars:
                        _yaml_vars(host.vars, host_vars, raw)
                    if port is not None:
                        host.vars.set("ansible_port", port, raw.at(host_line))
