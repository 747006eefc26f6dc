"""Inventories: which hosts to audit or fix, how to reach them, and the settings of each.

``load_inventory(path)`` reads three formats, told apart by extension and content:

1. **Our YAML format** (a mapping whose top-level keys are among ``vars``, ``groups``, ``hosts``)::

    vars: {python: /usr/bin/python3}          # optional, for all hosts
    groups:                                   # optional
      web:
        hosts: [web1, web2]                   # names defined under hosts:
        vars: {domains: [thebot.example.com]}
        children: [canary]                    # optional, names of other groups
      canary: {hosts: [web2]}
    hosts:
      web1: {address: 127.0.0.2, port: 2201, user: deploy, key: ~/.ssh/id_ed25519,
             project: /srv/thebot, env_file: /srv/thebot/.env.production}
      web2: {address: 127.0.0.3, project: /srv/thebot}
      localhost: {project: ../examples/thebot}  # local: no SSH

   Connection settings: ``address`` (default: the host's name), ``port``, ``user``, ``key`` (the
   private key file), ``connection`` (``local`` or ``ssh``). Every other key is a host variable;
   the ones the toolkit reads carry the names of the command-line flags: ``project``,
   ``python``, ``env_file``, ``domains`` (a list, or one comma-separated string) and
   ``database_url``. Connection settings may also be set in ``vars`` of a group or of the whole
   file (``user: deploy`` for every host). A group may list only hosts defined under ``hosts:``
   and only groups defined under ``groups:``; unknown top-level keys are errors.

2. **Ansible INI inventories** (``.ini``, or a file without extension that is not YAML):
   ``[group]``, ``[group:vars]``, ``[group:children]``, ``host key=value ...`` lines, hosts before
   the first section (``ungrouped``), ``host:port``, host ranges ``web[01:03]``/``db-[a:c]``.
   Values are read as Ansible's INI plugin reads them, with ``ast.literal_eval`` (``2222`` is an
   int, ``True`` a bool, ``"['a', 'b']"`` a list, anything else stays a string; note that
   lower-case ``true`` stays a string, as in Ansible).

3. **Ansible YAML inventories** (a mapping of group names, usually ``all:``, each with
   ``hosts``, ``children``, ``vars``).

In Ansible inventories only Ansible's names are connection settings: ``ansible_host``,
``ansible_port``, ``ansible_user``, ``ansible_ssh_private_key_file`` (and
``ansible_private_key_file``, ``ansible_ssh_host/port/user``), ``ansible_connection``; a plain
``port: 8000`` there is just a variable. ``ansible_python_interpreter`` is read as ``python`` in
every format.

``group_vars/<group>`` and ``host_vars/<host>`` next to the inventory file are read in every
format: a file named exactly so, or with ``.yml``, ``.yaml`` or ``.json`` (the first that exists,
as Ansible), or a folder of such files read in sorted order. Files encrypted with ansible-vault
are skipped with a warning (``Inventory.warnings``); inline ``!vault`` values load as ``Vaulted``
and are never printed.

Variable precedence is Ansible's (later wins): the inventory file's ``all`` vars < its vars of
the host's groups, parents before children (ties: ``ansible_group_priority``, then name) <
``group_vars/all`` < ``group_vars/<group>`` in the same order < the host's own vars in the
inventory file < ``host_vars/<host>``. Dictionaries replace, they are not merged.

A host is local (no SSH) when its connection is ``local``, or when it is named ``localhost`` and
no connection is set. For local hosts, relative ``project``, ``env_file`` and ``python`` (when it
contains a ``/``) resolve against the inventory file's folder and ``~`` is expanded; for remote
hosts they are paths on the remote host and are kept as written. ``key`` is a path on this
machine for every host: ``~`` expanded, relative to the inventory's folder.

``select(inventory, limit)`` applies an Ansible ``--limit`` pattern; ``masked(host)`` is what may
be printed of a host. Errors are ``InventoryError`` with a one-line message naming the file and
line: ``inventories/bad.ini:7: cannot parse 'web1 ansible_port' ...``.
"""

from __future__ import annotations

import ast
import fnmatch
import ipaddress
import os
import re
import shlex
import string
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from remediation.probe import MASK, is_secret_name, mask_url, scrub, url_password

__all__ = ["Group", "Host", "Inventory", "InventoryError", "Vaulted", "load_inventory", "masked", "select"]

OUR_KEYS = ("vars", "groups", "hosts")
GROUP_KEYS = ("hosts", "vars", "children")
VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")  # Ansible's order: the first that exists wins
YAML_EXTENSIONS = (".yml", ".yaml", ".json")

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


class InventoryError(ValueError):
    """A malformed inventory or --limit pattern. The message is one line, ``file:line: what``."""


class Vaulted:
    """An inline ``!vault`` value: kept, never decrypted, never printed."""

    def __init__(self, ciphertext: str):
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        return "Vaulted(****)"

    def __eq__(self, other) -> bool:
        return isinstance(other, Vaulted) and other.ciphertext == self.ciphertext


@dataclass
class Host:
    name: str
    address: str
    port: int | None = None
    user: str | None = None
    key_file: str | None = None
    local: bool = False
    vars: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)  # every group it is in, with parents; not "all"

    @property
    def project(self) -> str | None:
        return self.vars.get("project")

    @property
    def python(self) -> str | None:
        return self.vars.get("python")

    @property
    def env_file(self) -> str | None:
        return self.vars.get("env_file")

    @property
    def domains(self) -> list[str]:
        return list(self.vars.get("domains") or [])

    @property
    def database_url(self) -> str | None:
        return self.vars.get("database_url")


@dataclass
class Group:
    name: str
    hosts: list[str]  # every host of the group and of its descendants, in inventory order
    children: list[str]  # direct children
    vars: dict[str, Any]  # its own vars: the inventory file's, then group_vars/


@dataclass
class Inventory:
    path: str
    format: str  # "yaml" (ours), "ansible-ini" or "ansible-yaml"
    hosts: list[Host]  # inventory order: first appearance in the file
    groups: dict[str, Group]
    warnings: list[str] = field(default_factory=list)

    def _index(self) -> dict[str, Host]:
        index = self.__dict__.get("_by_name")
        if index is None or len(index) != len(self.hosts):
            index = self.__dict__["_by_name"] = {host.name: host for host in self.hosts}
        return index

    def __iter__(self) -> Iterator[Host]:
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    def __contains__(self, name: object) -> bool:
        return name in self._index()

    def __getitem__(self, name: str) -> Host:
        return self._index()[name]

    def get(self, name: str) -> Host | None:
        return self._index().get(name)


# --- YAML with line numbers --------------------------------------------------------------------


class _Map(dict):
    """A YAML mapping that remembers its line and the line of each key (1-based)."""

    line = 1

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict = {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class _Seq(list):
    line = 1

    def __init__(self, *args):
        super().__init__(*args)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    data = _Map()
    data.line = node.start_mark.line + 1
    yield data
    seen: set[str] = set()  # YAML forbids duplicate keys; PyYAML would silently keep the last
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(key_node.value)
    data.update(loader.construct_mapping(node))  # flattens "<<" merges into node.value
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            data.key_lines[key] = key_node.start_mark.line + 1
        except TypeError:
            pass


def _construct_seq(loader: _Loader, node: yaml.SequenceNode):
    data = _Seq()
    data.line = node.start_mark.line + 1
    yield data
    data.extend(loader.construct_sequence(node))
    data.item_lines = [child.start_mark.line + 1 for child in node.value]


def _construct_vault(loader: _Loader, node):
    return Vaulted(str(loader.construct_scalar(node)))


def _construct_unsafe(loader: _Loader, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_Loader.add_constructor("!vault", _construct_vault)
_Loader.add_constructor("!unsafe", _construct_unsafe)


def _load_yaml(text: str, shown: str):
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise InventoryError(f"{shown}:{line}: {problem}") from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{shown}: {' '.join(str(exc).split())}") from None


# --- the model every format is read into ---------------------------------------------------------


@dataclass
class _Vars:
    """Variables of one host or group from one source, with where each was set."""

    values: dict[str, Any] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)

    def set(self, key, value, where: str) -> None:
        key = str(key)
        self.values[key] = value
        self.where[key] = where


@dataclass
class _RawGroup:
    name: str
    where: str
    vars: _Vars = field(default_factory=_Vars)
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    members: set[str] = field(default_factory=set)  # the same names as hosts, for lookups


@dataclass
class _RawHost:
    name: str
    where: str
    vars: _Vars = field(default_factory=_Vars)


class _Raw:
    def __init__(self, shown: str, fmt: str):
        self.shown = shown
        self.format = fmt
        self.ours = fmt == "yaml"
        self.groups: dict[str, _RawGroup] = {}
        self.hosts: dict[str, _RawHost] = {}
        self.group("all", f"{shown}:1")
        self.group("ungrouped", f"{shown}:1")

    def at(self, line: int) -> str:
        return f"{self.shown}:{line}"

    def group(self, name: str, where: str) -> _RawGroup:
        if name not in self.groups:
            self.groups[name] = _RawGroup(name, where)
        return self.groups[name]

    def host(self, name: str, where: str, group: str | None = None) -> _RawHost:
        if name not in self.hosts:
            self.hosts[name] = _RawHost(name, where)
        target = self.groups[group] if group is not None else None
        if target is not None and name not in target.members:
            target.members.add(name)
            target.hosts.append(name)
        return self.hosts[name]

    def add_child(self, parent: str, child: str) -> None:
        if child not in self.groups[parent].children:
            self.groups[parent].children.append(child)


def _fail(where: str, message: str):
    raise InventoryError(f"{where}: {message}")


def _kind(value) -> str:
    return {dict: "a mapping", _Map: "a mapping", list: "a list", _Seq: "a list"}.get(type(value), type(value).__name__)


# --- our format ----------------------------------------------------------------------------------


def _yaml_vars(target: _Vars, mapping: _Map, raw: _Raw) -> None:
    for key, value in mapping.items():
        target.set(key, value, raw.at(mapping.line_of(key)))


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


# --- Ansible YAML --------------------------------------------------------------------------------


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


# --- Ansible INI ---------------------------------------------------------------------------------

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


# --- host patterns: host:port, [ipv6]:port, ranges -------------------------------------------------


def _expand_host_pattern(pattern: str, at: str, line: str | None = None) -> tuple[list[str], int | None]:
    shown = line if line is not None else pattern
    try:
        host, port = _split_port(pattern)
        return _expand_ranges(host), port
    except ValueError as exc:
        _fail(at, f"cannot parse {shown!r} ({exc})")


def _split_port(pattern: str) -> tuple[str, int | None]:
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", pattern)
    if bracketed and _is_ipv6(bracketed.group(1)):
        return bracketed.group(1), _port(bracketed.group(2))
    depth, colons = 0, []
    for index, char in enumerate(pattern):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == ":" and depth == 0:
            colons.append(index)
    if not colons:
        return pattern, None
    if len(colons) == 1:
        host, port = pattern[: colons[0]], pattern[colons[0] + 1 :]
        if not host:
            raise ValueError("no host name before ':'")
        if not port.isdigit():
            raise ValueError("a port after ':' must be a number" if port else "nothing after ':' (reserved for a port)")
        return host, _port(port)
    if _is_ipv6(pattern):
        return pattern, None
    raise ValueError("too many ':' (write an IPv6 address with a port as [addr]:port)")


def _port(text: str | None) -> int | None:
    if text is None:
        return None
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return port


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.split("%", 1)[0])
        return True
    except ValueError:
        return False


def _expand_ranges(name: str) -> list[str]:
    """``web[01:03]`` -> web01, web02, web03; ``db-[a:c]``; ``[start:end:step]``; several ranges."""
    if "[" not in name and "]" not in name:
        return [name]
    match = re.fullmatch(r"([^\[\]]*)\[([^\[\]]*)\](.*)", name)
    if not match:
        raise ValueError("unbalanced '[' ']' in a host name")
    head, body, tail = match.groups()
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise ValueError(f"a host range is [start:end] or [start:end:step], got [{body}]")
    begin, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise ValueError(f"the host range [{body}] has no end")
    if not step_text.isdigit() or int(step_text) < 1:
        raise ValueError(f"the step of [{body}] must be a positive number")
    step = int(step_text)
    if begin.isdigit() and end.isdigit():
        width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
        if width and len(end) != width:
            raise ValueError(f"the host range [{body}] must have equal-length start and end")
        if int(begin) > int(end):
            raise ValueError(f"the host range [{body}] is empty")
        items = [str(number).zfill(width) for number in range(int(begin), int(end) + 1, step)]
    elif len(begin) == 1 and len(end) == 1 and begin in string.ascii_letters and end in string.ascii_letters:
        first, last = string.ascii_letters.index(begin), string.ascii_letters.index(end)
        if first > last:
            raise ValueError(f"the host range [{body}] is empty")
        items = list(string.ascii_letters[first : last + 1 : step])
    else:
        raise ValueError(f"[{body}] is not a host range (numbers or single letters)")
    return [head + item + rest for item in items for rest in _expand_ranges(tail)]


# --- group_vars/ and host_vars/ --------------------------------------------------------------------


class _VarsFiles:
    """group_vars/<name> and host_vars/<name> beside the inventory file, each read once."""

    def __init__(self, folder: Path, shown_folder: str, warnings_: list[str]):
        self.folder = folder
        self.shown_folder = shown_folder
        self.warnings = warnings_
        self.cache: dict[tuple[str, str], list[_Vars]] = {}

    def get(self, kind: str, name: str) -> list[_Vars]:
        if (kind, name) not in self.cache:
            self.cache[(kind, name)] = [self._read(path) for path in self._files(kind, name)]
            self.cache[(kind, name)] = [item for item in self.cache[(kind, name)] if item is not None]
        return self.cache[(kind, name)]

    def _files(self, kind: str, name: str) -> list[Path]:
        base = self.folder / kind
        if not base.is_dir():
            return []
        for extension in VARS_EXTENSIONS:
            path = base / (name + extension)
            if path.is_dir():
                return sorted(
                    (
                        found
                        for found in path.rglob("*")
                        if found.is_file()
                        and not any(part.startswith(".") for part in found.relative_to(path).parts)
                        and found.suffix in ("",) + YAML_EXTENSIONS
                    ),
                    key=lambda found: found.relative_to(path).parts,
                )
            if path.is_file():
                return [path]
        return []

    def _read(self, path: Path) -> _Vars | None:
        shown = os.path.join(self.shown_folder, str(path.relative_to(self.folder)))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InventoryError(f"{shown}: cannot read: {exc}") from None
        if text.lstrip().startswith("$ANSIBLE_VAULT"):
            self.warnings.append(f"{shown}: encrypted with ansible-vault, skipped")
            return None
        data = _load_yaml(text, shown)
        result = _Vars()
        if data is None:
            return result
        if not isinstance(data, dict):
            _fail(f"{shown}:1", f"a vars file must be a mapping of variable names to values, got {_kind(data)}")
        for key, value in data.items():
            result.set(key, value, f"{shown}:{data.line_of(key)}")
        return result


# --- from the model to Hosts ---------------------------------------------------------------------


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


def _resolve(raw: _Raw, path: Path, shown: str) -> Inventory:
    warnings_: list[str] = []
    folder = Path(os.path.abspath(path)).parent
    files = _VarsFiles(folder, os.path.dirname(shown), warnings_)
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
    return Inventory(path=shown, format=raw.format, hosts=hosts, groups=groups, warnings=warnings_)


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
            bad(f"{kind}:{key}", f"{key} is vault-encrypted, which is not supported")
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
    return domains


# --- loading -------------------------------------------------------------------------------------


def _looks_like_yaml_error(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        return bool(re.match(r"^(---|[\w.-]+:(\s|$))", stripped))
    return False


def load_inventory(path: str | os.PathLike) -> Inventory:
    """Read an inventory file (our YAML, Ansible INI or Ansible YAML) into resolved Hosts."""
    shown = os.fspath(path)
    file = Path(shown)
    if not file.exists():
        raise InventoryError(f"{shown}: no such inventory file")
    if file.is_dir():
        raise InventoryError(f"{shown}: is a folder; give the inventory file inside it")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{shown}: cannot read: {exc}") from None
    if not text.strip() or all(not line.strip() or line.strip()[0] in "#;" for line in text.splitlines()):
        raise InventoryError(f"{shown}: empty inventory")

    suffix = file.suffix.lower()
    if suffix == ".ini":
        raw = _Raw(shown, "ansible-ini")
        _parse_ini(text, raw)
        return _resolve(raw, file, shown)

    if suffix in YAML_EXTENSIONS:
        data = _load_yaml(text, shown)
    else:  # no or another extension: YAML if it reads as a mapping, else INI (Ansible's order)
        try:
            data = _load_yaml(text, shown)
        except InventoryError as yaml_error:
            raw = _Raw(shown, "ansible-ini")
            try:
                _parse_ini(text, raw)
            except InventoryError:
                if _looks_like_yaml_error(text):
                    raise yaml_error from None
                raise
            return _resolve(raw, file, shown)
        if not isinstance(data, dict):
            raw = _Raw(shown, "ansible-ini")
            _parse_ini(text, raw)
            return _resolve(raw, file, shown)

    if not isinstance(data, dict):
        line = getattr(data, "line", 1)
        expected = "an inventory is a mapping (vars, groups, hosts, or Ansible groups)"
        raise InventoryError(f"{shown}:{line}: {expected}, got {_kind(data)}")
    if "plugin" in data:
        raise InventoryError(f"{shown}:{data.line_of('plugin')}: inventory plugin configurations are not supported")
    if "all" not in data and any(key in OUR_KEYS for key in data):
        raw = _Raw(shown, "yaml")
        _parse_ours(data, raw)
    else:
        raw = _Raw(shown, "ansible-yaml")
        _parse_ansible_yaml(data, raw)
    return _resolve(raw, file, shown)


# --- --limit -------------------------------------------------------------------------------------

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


# --- printing ------------------------------------------------------------------------------------


def masked(host: Host) -> dict:
    """What may be printed of a host: its settings and vars, secrets as ****.

    Variables with a secret-looking name (``*_password``, ``*_token``, ``ansible_become_pass``,
    ...; not ``*_file``, which name files) are replaced whole, URLs lose their password, vault
    values are masked, and every secret value found is scrubbed from every other string.
    """
    secrets: set[str] = set()

    def collect(value) -> None:
        if isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)
        elif value is not None and not isinstance(value, (bool, Vaulted)) and str(value):
            secrets.add(str(value))

    def walk(name: str, value):
        if isinstance(value, Vaulted):
            return MASK
        if is_secret_name(name) and not name.lower().endswith("_file"):
            if value is None or value == "":
                return value
            collect(value)
            return MASK
        if isinstance(value, dict):
            return {str(key): walk(str(key), item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(name, item) for item in value]
        if isinstance(value, str):
            password = url_password(value)
            if password:
                secrets.add(password)
            return mask_url(value)
        return value

    out = {
        "name": host.name,
        "address": host.address,
        "port": host.port,
        "user": host.user,
        "key_file": host.key_file,
        "local": host.local,
        "groups": list(host.groups),
        "vars": walk("vars", host.vars),
    }

    def clean(value):
        if isinstance(value, str):
            return scrub(value, secrets)
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return clean(out)
