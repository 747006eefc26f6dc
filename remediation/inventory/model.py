"""What an inventory resolves to (hosts, groups) and the one error every reader raises.

Plain data, apart from the readers: it is what the CLI and the fleet runner work with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator


class InventoryError(ValueError):
    """A malformed inventory or --limit pattern. The message is one line, ``file:line: what``."""


class Vaulted:
    """An inline ``!vault`` value loaded without vault secrets: kept, never printed."""

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
    secrets: set[str] = field(default_factory=set, repr=False)  # decrypted vault values: the scrub list

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
