"""The config file: ``remediation.yaml``, or the ``remediation:`` key of invoke's own ``invoke.yaml``,
found in the working directory (else in the ``--project`` folder). Flags override it.

PyYAML reads it; by hand only the line of each value (from PyYAML's node marks), so that every
mistake is reported as ``file:line: what`` with exit status 2 before anything runs.
"""

from __future__ import annotations

import contextvars
import functools
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

NAMES = ("remediation.yaml", "invoke.yaml", "invoke.yml")
SECTION = "remediation"  # invoke.yaml's key for our settings
DEFAULTS = {"format": "text", "fail_level": "high"}
FORMAT_NAMES = ("text", "markdown", "json", "junit", "sarif")  # each task still checks its own list

# key -> the tasks it applies to (task parameter of the same name, `domains` -> `domain`)
KEYS = {
    "project": ("audit", "fix_prod", "rollback", "deploy"),
    "python": ("audit", "fix_prod"),
    "env_file": ("audit", "fix_prod"),
    "inventory": ("audit", "fix_prod", "inventory", "rollback", "deploy", "releases"),
    "fail_level": ("audit", "fix_prod", "verify"),
    "format": ("audit", "fix_prod", "verify"),
    "formats": ("audit", "fix_prod", "verify"),
    "domains": ("fix_prod",),
    "waivers": ("audit", "fix_prod", "verify"),
}
PATHS = ("project", "python", "env_file", "inventory")  # relative to the config file's folder
WHERE = ("project", "inventory")  # a flag naming either one overrides the file's other one too


class ConfigError(ValueError):
    """A mistake in the config file: ``file:line: what``."""


@dataclass
class Config:
    path: Path | None = None
    values: dict = field(default_factory=dict)
    waivers: list = field(default_factory=list)  # remediation.waivers.Waiver


_ACTIVE: contextvars.ContextVar[Config] = contextvars.ContextVar("remediation_config", default=Config())


def active() -> Config:
    """The config of the task running now (an empty one outside the console script and invoke)."""
    return _ACTIVE.get()


def find(cwd: Path, project: str | None = None) -> tuple[Path, list] | None:
    """(file, path of our section in it) in the working directory, else in the project folder."""
    folders = [cwd] + ([Path(project).expanduser()] if project else [])
    for folder in folders:
        found = []
        for name in NAMES:
            path = folder / name
            if not path.is_file():
                continue
            if name == "remediation.yaml":
                found.append((path, []))
            elif has_section(path):
                found.append((path, [SECTION]))
        if len(found) > 1:
            raise ConfigError(f"{found[0][0]} and {found[1][0]} both configure django-remediation: keep one")
        if found:
            return found[0]
    return None


def has_section(path: Path) -> bool:
    data, _ = read_yaml(path)
    return isinstance(data, dict) and SECTION in data


def read_yaml(path: Path) -> tuple[object, dict]:
    """The document and the line (1-based) of every value in it, by its path of keys and indexes."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: not valid YAML ({problem})") from None
    lines: dict = {}
    if node is not None:
        note_lines(node, (), lines)
    return data, lines


def note_lines(node, at: tuple, lines: dict) -> None:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            note_lines(value, at + (key.value,), lines)
            lines.setdefault(at + (key.value, "<key>"), key.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            note_lines(item, at + (index,), lines)


def load(path: Path, section: list) -> Config:
    """Read and check the file; every value as the task expects it (paths absolute, levels parsed)."""
    from .findings import Severity
    from .waivers import parse_waivers

    data, lines = read_yaml(path)
    for key in section:
        data = data.get(key) if isinstance(data, dict) else None
    base = tuple(section)

    def where(*at) -> str:
        line = lines.get(base + at) or lines.get(base) or 1
        return f"{path}:{line}"

    if data is None:
        return Config(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where()}: expected a mapping of settings (project, fail_level, waivers, ...)")
    values = {}
    for key, value in data.items():
        if key not in KEYS:
            raise ConfigError(f"{where(key, '<key>')}: unknown setting {key!r} (known: {', '.join(KEYS)})")
        if key == "waivers":
            continue
        if key in ("formats", "domains"):
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise ConfigError(f"{where(key)}: {key} must be a list of non-empty strings")
        elif not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where(key)}: {key} must be a non-empty string")
        if key in ("format", "formats"):
            for index, spec in enumerate(value if isinstance(value, list) else [value]):
                if spec.split(":", 1)[0].strip() not in FORMAT_NAMES:
                    at = (key, index) if isinstance(value, list) else (key,)
                    raise ConfigError(f"{where(*at)}: unknown format {spec!r} (choose from {', '.join(FORMAT_NAMES)}; "
                                      "junit and sarif as NAME:FILE too)")
            pathless = [i for i, spec in enumerate(value if isinstance(value, list) else [value]) if ":" not in spec]
            if len(pathless) > 1:
                raise ConfigError(f"{where(key, pathless[1])}: {', '.join(value[i] for i in pathless)} would all go to "
                                  "stdout; give all but one a file (NAME:PATH)")
        if key in PATHS:
            value = str((path.parent / Path(value).expanduser()).absolute())
        if key == "fail_level":
            try:
                Severity.parse(value)
            except ValueError as exc:
                raise ConfigError(f"{where(key)}: fail_level: {exc}") from None
        values[key] = value
    if "format" in values and "formats" in values:
        raise ConfigError(f"{where('formats', '<key>')}: give format or formats, not both")
    if "formats" in values:
        values["format"] = values.pop("formats")
    waivers = parse_waivers(data.get("waivers"), lambda *at: where("waivers", *at)) if "waivers" in data else []
    return Config(path, values, waivers)


def settle(task: str, given: dict, repeatable_format: bool) -> dict:
    """The task's arguments: a flag as given, else the file's value, else the built-in default."""
    config = active()
    values = dict(given)
    named_where = [key for key in WHERE if given.get(key)]
    for key, value in config.values.items():
        if task not in KEYS[key]:
            continue
        param = "domain" if key == "domains" else key
        if param not in values or values[param] not in (None, [], ()):
            continue
        if key in WHERE and named_where:
            continue  # --project on the command line: the file's inventory does not apply, and vice versa
        if key == "project" and task != "deploy" and "inventory" in config.values:
            continue  # both in the file: audit and fix-prod run on the inventory; deploy ships the project to it
        if param == "format":
            value = format_value(config, value, repeatable_format)
        values[param] = value
    if values.get("project") is None and "project" in values and (task == "deploy" or not values.get("inventory")):
        from .resources import cwd_project

        here = cwd_project()
        values["project"] = str(here) if here else None
    for param, default in DEFAULTS.items():
        if param in values and values[param] is None:
            values[param] = [default] if repeatable_format and param == "format" else default
    return values


def format_value(config: Config, value, repeatable: bool):
    listed = value if isinstance(value, list) else [value]
    if repeatable:
        return listed
    if len(listed) > 1:
        raise ConfigError(f"{config.path}: several formats need a --format that repeats; give one format")
    return listed[0]


def configured(name: str):
    """Decorate a task body: load the config file, fill in what no flag gave, keep it for the run.

    A flag left at its default is ``None`` (or an empty list), so a flag always wins over the file."""

    def wrap(body):
        @functools.wraps(body)
        def run(c, *args, **kwargs):
            from invoke import Exit

            try:
                config = current(kwargs.get("project"))
                token = _ACTIVE.set(config)
            except ConfigError as exc:
                print(f"error: {exc}", file=sys.stderr)
                raise Exit(code=2) from None
            try:
                try:
                    kwargs = settle(name, kwargs, repeatable_format=format_repeats(name))
                except ConfigError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    raise Exit(code=2) from None
                return body(c, *args, **kwargs)
            finally:
                _ACTIVE.reset(token)

        return run

    return wrap


def current(project: str | None = None) -> Config:
    found = find(Path.cwd(), project)
    return load(*found) if found else Config()


def format_repeats(name: str) -> bool:
    """Whether the task's --format is repeatable (a list): the formats of the multi-format reports."""
    from .tasks import ns

    return "format" in getattr(ns.tasks.get(name.replace("_", "-")), "iterable", ())
