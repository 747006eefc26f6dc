"""YAML loading that keeps line numbers, so every error can name ``file:line``.

Also reads Ansible's ``!vault`` (kept as ``Vaulted``) and ``!unsafe`` tags, and rejects
duplicate keys, which PyYAML would silently drop."""

from __future__ import annotations

import yaml

from .model import InventoryError, Vaulted

YAML_EXTENSIONS = (".yml", ".yaml", ".json")


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
