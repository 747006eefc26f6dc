"""The intermediate model every format is read into, before precedence is applied.

Readers only record what each file says and where; ``resolve`` turns it into Hosts. Also the
helpers every reader uses to fail with a one-line ``file:line: what`` message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import InventoryError
from .yaml_lines import _Map, _Seq

GROUP_KEYS = ("hosts", "vars", "children")


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


def _yaml_vars(target: _Vars, mapping: _Map, raw: _Raw) -> None:
    for key, value in mapping.items():
        target.set(key, value, raw.at(mapping.line_of(key)))
