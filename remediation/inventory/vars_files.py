"""``group_vars/`` and ``host_vars/`` beside the inventory file, read in every format; a
vault-encrypted file (or ``!vault`` value) is decrypted by the inventory's ``Decrypter``."""

from __future__ import annotations

import os
from pathlib import Path

from .model import InventoryError
from .raw import _fail, _kind, _Vars
from .vaulted import Decrypter
from .yaml_lines import YAML_EXTENSIONS, _load_yaml

VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")  # Ansible's order: the first that exists wins


class _VarsFiles:
    """group_vars/<name> and host_vars/<name> beside the inventory file, each read once."""

    def __init__(self, folder: Path, shown_folder: str, warnings_: list[str], decrypter: Decrypter | None = None):
        self.folder = folder
        self.shown_folder = shown_folder
        self.warnings = warnings_
        self.decrypter = decrypter or Decrypter()
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
        vaulted = text.lstrip().startswith("$ANSIBLE_VAULT")
        if vaulted:
            text = self.decrypter.file_text(text, shown, self.warnings)
            if text is None:
                return None
        data = _load_yaml(text, shown)
        result = _Vars()
        if data is None:
            return result
        if not isinstance(data, dict):
            _fail(f"{shown}:1", f"a vars file must be a mapping of variable names to values, got {_kind(data)}")
        for key, value in data.items():
            result.set(key, value, f"{shown}:{data.line_of(key)}")
        self.decrypter.layer(result)
        if vaulted:
            self.decrypter.file_values(result)
        return result
