"""Editing env files the way a person would: keep every line, comment and unknown key, change
only the values that must change, add what is missing at the end.

Values are written so that python-dotenv and a POSIX shell (``set -a; . FILE``) both read
them back unchanged: bare when made only of safe characters, single-quoted otherwise (neither
reader expands anything inside single quotes). A value that neither form can carry (one with a
single quote or a backslash) is refused rather than written wrong.

What the user wrote is kept byte for byte: the text is cut into python-dotenv's own bindings
(whose original strings add up to the file exactly), only the bindings of changed keys are
rewritten (keeping their line ending), and added lines use the file's own line ending (CRLF
files stay CRLF). Texts come from the transport bytes-faithful (surrogateescape), so a byte
that is not UTF-8 goes back out as the same byte.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from dotenv.parser import parse_stream
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .masking import MASK, is_secret_name, mask_url, plausible_secret

BARE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]*$")
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvValueError(ValueError):
    """A value that cannot be written so that both dotenv and the shell read it back."""


def quote(key: str, value: str) -> str:
    if not KEY.match(key):
        raise EnvValueError(f"{key!r} is not a valid environment variable name")
    if "\n" in value or "\r" in value:
        raise EnvValueError(f"{key}: a value with a line break cannot be written to an env file")
    if BARE.match(value):
        return value
    if "'" in value or "\\" in value:
        raise EnvValueError(f"{key}: a value with both special characters and a quote or backslash cannot be written safely")
    return f"'{value}'"


def mask_line(line: str) -> str:
    """An env line fit for a diff: secret values become ****, URL passwords too."""
    match = re.match(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$", line)
    if not match:
        return line
    prefix, key, eq, value = match.groups()
    if is_secret_name(key) and plausible_secret(value.strip().strip("'\"")):
        return f"{prefix}{key}{eq}{MASK}"
    return f"{prefix}{key}{eq}{mask_url(value)}"


@dataclass
class EnvDocument:
    """An env file's text and the values it defines, edited in memory."""

    text: str
    values: dict[str, str] = field(default_factory=dict)
    added: dict[str, str] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)
    chunks: list = field(default_factory=list)  # (key or None, original text), adding up to ``text``

    @classmethod
    def parse(cls, text: str, origin: str) -> "EnvDocument":
        doc = cls(text)
        for binding in parse_stream(io.StringIO(text)):
            if binding.error:
                raise EnvValueError(f"{origin}:{binding.original.line}: cannot parse this line")
            if binding.key is not None:
                doc.values[binding.key] = binding.value or ""
            doc.chunks.append((binding.key, binding.original.string))
        return doc

    def current(self, key: str) -> str:
        return self.added.get(key, self.changed.get(key, self.values.get(key, "")))

    def set(self, key: str, value: str) -> bool:
        """Plan ``key=value``; returns whether that changes anything."""
        quote(key, value)
        if self.current(key) == value and (key in self.values or key in self.added):
            return False
        if key in self.values:
            self.changed[key] = value
        else:
            self.added[key] = value
        return True

    @property
    def newline(self) -> str:
        """The file's line ending, for the lines we add: CRLF when most lines end so."""
        crlf = self.text.count("\r\n")
        return "\r\n" if crlf and crlf * 2 >= self.text.count("\n") else "\n"

    def render(self, templates, new: bool = False) -> str:
        """The new text: changed values replaced in place, added keys appended by the template."""
        body = "".join(self._rewrite(chunk) if key in self.changed else chunk for key, chunk in self.chunks)
        if self.added and body and not body.endswith(("\n", "\r")):
            body += self.newline
        environment = Environment(loader=FileSystemLoader(templates), undefined=StrictUndefined,
                                  keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                                  newline_sequence=self.newline, autoescape=False)
        return environment.get_template("env.production.j2").render(
            body=body, added=[(k, quote(k, v)) for k, v in self.added.items()], new=new
        )

    def _rewrite(self, chunk: str) -> str:
        """One binding with its new value: the blank lines and ``export`` before it and its line
        ending kept (a comment after the old value goes with the old value)."""
        match = re.match(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)", chunk)
        key = match.group(2)
        ending = re.search(r"(\r\n|\n|\r)?$", chunk).group(0)
        return f"{match.group(1)}{key}={quote(key, self.changed[key])}{ending}"

    def merged(self) -> dict[str, str]:
        return {**self.values, **self.changed, **self.added}
