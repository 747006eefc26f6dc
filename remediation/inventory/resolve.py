"""From the raw model to Hosts: group order, Ansible's variable precedence, aliases, checks.

The one place that decides what a host's settings are, whatever format they came from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from remediation.domains import DomainError, normalize_domains

from .model import Group, Host, Inventory, Vaulted
from .raw import _fail, _kind, _Raw, _Vars
from .vars_files import _VarsFiles
from .vaulted import NEED_SECRETS, Decrypter

# name -> (kind, canonical name, rank, our format only). Within one set of variables the higher
# rank wins (``address`` over ``ansible_host`` over ``ansible_ssh_host``).
ALIASES: dict[str, tuple[str, str, int, bool]] = {
    "ansible_ssh_host": ("conn", "address", 0, False),
    "ansible_host": ("conn", "address", 1, False),
    "address": ("conn", "address", 2, True),
    "ansible_ssh_port": ("conn", "port", 0, False),
    "ansible_port": ("conn", "port", 1, False),
    "port": ("conn", "port", 2, True),
    "ansible_ssh_user": ("conn", "user", 0, False),
    "ansible_user": ("conn", "user", 1, False),
    "user": ("conn", "user", 2, True),
    "ansible_private_key_file": ("conn", "key_file", 0, False),
    "ansible_ssh_private_key_file": ("conn", "key_file", 1, False),
    "key_file": ("conn", "key_file", 2, True),
    "key": ("conn", "key_file", 2, True),
    "ansible_connection": ("conn", "connection", 1, False),
    "connection": ("conn", "connection", 2, True),
    "ansible_python_interpreter": ("var", "python", 1, False),
    "python": ("var", "python", 2, False),
}


def _split(variables: _Vars, ours: bool) -> tuple[dict, dict, dict]:
    """One set of variables -> (connection settings, host vars, where) with aliases folded."""
    conn: dict[str, Any] = {}
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    ranked = []
    for key, value in variables.values.items():
        kind, canonical, rank, ours_only = ALIASES.get(key, ("var", key, 0, False))
        if ours_only and not ours:
            kind, canonical, rank = "var", key, 0
        ranked.append((rank, kind, canonical, key, value))
    for rank, kind, canonical, key, value in sorted(ranked, key=lambda item: item[0]):
        (conn if kind == "conn" else values)[canonical] = value
        where[f"{kind}:{canonical}"] = variables.where.get(key, "")
    return conn, values, where


def _group_order(raw: _Raw) -> tuple[dict[str, set[str]], dict[str, int], dict[str, int]]:
    """Parents of each group, its depth below "all" and its ansible_group_priority."""
    parents: dict[str, set[str]] = {name: set() for name in raw.groups}
    for name, group in raw.groups.items():
        for child in group.children:
            if child != "all":
                parents[child].add(name)
    for name in raw.groups:
        if name != "all" and not parents[name] - {"all"}:
            parents[name].add("all")

    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for child in raw.groups[name].children:
            if child == "all":
                continue
            if state.get(child) == 1:
                cycle = " -> ".join(path[path.index(child) :] + [child]) if child in path else f"{name} -> {child}"
                _fail(raw.groups[child].where, f"groups contain each other: {cycle}")
            if state.get(child) != 2:
                visit(child, path + [child])
        state[name] = 2

    for name in raw.groups:
        if state.get(name) != 2:
            visit(name, [name])

    depth: dict[str, int] = {"all": 0}

    def depth_of(name: str) -> int:
        if name not in depth:
            depth[name] = 1 + max(depth_of(parent) for parent in parents[name])
        return depth[name]

    priority: dict[str, int] = {}
    for name, group in raw.groups.items():
        depth_of(name)
        value = group.vars.values.pop("ansible_group_priority", 1)
        where = group.vars.where.pop("ansible_group_priority", group.where)
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
            _fail(where, f"ansible_group_priority of group {name!r} must be an integer, got {value!r}")
        priority[name] = int(value)
    return parents, depth, priority


def _resolve(raw: _Raw, path: Path, shown: str, decrypter: Decrypter | None = None) -> Inventory:
    warnings_: list[str] = []
    folder = Path(os.path.abspath(path)).parent
    decrypter = decrypter or Decrypter()
    decrypter.raw(raw)
    files = _VarsFiles(folder, os.path.dirname(shown), warnings_, decrypter)
    parents, depth, priority = _group_order(raw)

    known: dict[str, set[str]] = {}

    def ancestors(name: str) -> set[str]:
        if name not in known:
            found = {name}
            for parent in parents[name]:
                found |= ancestors(parent)
            known[name] = found
        return known[name]

    direct: dict[str, set[str]] = {name: {"all"} for name in raw.hosts}
    for group in raw.groups.values():
        for host in group.hosts:
            direct[host].add(group.name)
    membership: dict[str, set[str]] = {}
    for name in raw.hosts:  # Ansible's reconcile: ungrouped means in no group but all
        groups = set().union(*(ancestors(group) for group in direct[name]))
        if groups - {"all", "ungrouped"}:
            groups.discard("ungrouped")
        else:
            groups.add("ungrouped")
        membership[name] = groups

    sort_key = lambda name: (depth[name], priority[name], name)  # noqa: E731 - Ansible's sort_groups
    hosts = [_host(raw, name, membership[name], sort_key, files, folder) for name in raw.hosts]

    groups = {}
    for name, group in raw.groups.items():
        own = dict(group.vars.values)
        for layer in files.get("group_vars", name):
            own.update(layer.values)
        groups[name] = Group(
            name=name,
            hosts=[host.name for host in hosts if name in membership[host.name]],
            children=[g for g in raw.groups if "all" in parents[g]] if name == "all" else list(group.children),
            vars=own,
        )
    return Inventory(path=shown, format=raw.format, hosts=hosts, groups=groups, warnings=warnings_,
                     secrets=decrypter.secrets)


def _host(raw: _Raw, name: str, groups: set[str], sort_key, files: _VarsFiles, folder: Path) -> Host:
    ordered = sorted(groups - {"all"}, key=sort_key)
    layers: list[_Vars] = [raw.groups["all"].vars]
    layers += [raw.groups[group].vars for group in ordered]
    layers += files.get("group_vars", "all")
    for group in ordered:
        layers += files.get("group_vars", group)
    layers.append(raw.hosts[name].vars)
    layers += files.get("host_vars", name)

    conn: dict[str, Any] = {}
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for layer in layers:
        layer_conn, layer_values, layer_where = _split(layer, raw.ours)
        conn.update(layer_conn)
        values.update(layer_values)
        where.update(layer_where)
    defined = raw.hosts[name].where

    def bad(key: str, message: str):
        _fail(where.get(key) or defined, f"host {name!r}: {message}")

    def text(kind: str, key: str) -> str | None:
        value = (conn if kind == "conn" else values).get(key)
        if value is None:
            return None
        if isinstance(value, Vaulted):
            bad(f"{kind}:{key}", f"{key} is vault-encrypted: {NEED_SECRETS} to decrypt it")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            bad(f"{kind}:{key}", f"{key} must be a string, got {_kind(value)}")
        return str(value)

    connection = text("conn", "connection")
    local = connection == "local" or (connection is None and name == "localhost")

    port = conn.get("port")
    if port is not None:
        if isinstance(port, str) and port.strip().isdigit():
            port = int(port)
        if isinstance(port, bool) or not isinstance(port, int):
            bad("conn:port", f"port must be an integer, got {port!r}")
        if not 0 < port < 65536:
            bad("conn:port", f"port {port} is out of range 1-65535")

    address = text("conn", "address") or name
    key_file = text("conn", "key_file")
    if key_file:
        key_file = _local_path(key_file, folder)

    for key in ("project", "env_file", "python", "database_url"):
        value = text("var", key)
        if value is not None:
            values[key] = value
            if local and key != "database_url" and (key != "python" or "/" in value or value.startswith("~")):
                values[key] = _local_path(value, folder)
    if "domains" in values:
        values["domains"] = _domains(values["domains"], lambda message: bad("var:domains", message))

    return Host(
        name=name,
        address=address,
        port=port,
        user=text("conn", "user"),
        key_file=key_file,
        local=local,
        vars=_copy(values),
        groups=sorted(groups - {"all"}),
    )


def _copy(value):
    """Plain dicts and lists, one copy per host: no host shares a mutable value with another."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _local_path(value: str, folder: Path) -> str:
    expanded = os.path.expanduser(value)
    return os.path.normpath(os.path.join(folder, expanded))


def _domains(value, bad) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        bad(f"domains must be a list or a comma-separated string, got {_kind(value)}")
    domains = []
    for item in items:
        if not isinstance(item, str):
            bad(f"domains must be names, got {item!r}")
        if item.strip() and item.strip() not in domains:
            domains.append(item.strip())
    try:
        return normalize_domains(domains, "domains")
    except DomainError as exc:
        bad(str(exc))
