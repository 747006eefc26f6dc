"""python-dotenv's parser, with a fast path for the lines that make up nearly every env file.

python-dotenv parses one binding at a time through a Python-level reader (seven regex reads and a
line count per binding): about 30 µs a line, so a 10,000-line env cost more than the rest of an
audit. Here one regex recognises a plain ``KEY=value`` line or a comment line, shapes whose
result is certain (the same sub-expressions as python-dotenv's grammar, the value unquoted,
inline comments stripped as it strips them); at anything else (quotes, a key without ``=``, an
error) python-dotenv's own ``parse_binding`` parses that one binding from the same position, with
the same line number, and the fast path resumes after it. ``tests/test_envparse.py`` compares the
two on generated files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dotenv.parser import Position, Reader, parse_binding

# _multiline_whitespace, _export, an unquoted key, _whitespace, "=" and its whitespace, then a
# value: quoted on one line without escapes (then an optional comment), or unquoted (the rest of
# the line); then the end of the line. ``export `` and the whitespace after "=" are taken whenever
# they are there, as python-dotenv's reader does (a lookahead and a back-reference: no
# backtracking into them).
PLAIN = re.compile(
    r"\s*(?=(?P<export>(?:export[^\S\r\n]+)?))(?P=export)(?!')(?P<key>[^=\#\s]+)[^\S\r\n]*"
    r"=(?=(?P<space>[^\S\r\n]*))(?P=space)"
    r"(?:'(?P<single>[^'\\\r\n]*)'[^\S\r\n]*(?:\#[^\r\n]*)?"
    r"|\"(?P<double>[^\"\\\r\n]*)\"[^\S\r\n]*(?:\#[^\r\n]*)?"
    r"|(?!['\"])(?P<value>[^\r\n]*))"
    r"(?:\r\n|\n|\r|\Z)"
)
COMMENT = re.compile(r"\s*\#[^\r\n]*(?:\r\n|\n|\r|\Z)")
INLINE_COMMENT = re.compile(r"\s+#.*")


@dataclass
class EnvBinding:
    key: str | None
    value: str | None
    line: int  # where python-dotenv says the binding starts (for errors)
    error: bool = False


def newlines(text: str) -> int:
    """Line breaks as python-dotenv counts them: \\r\\n, \\n or \\r."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def parse_env(text: str) -> Iterator[EnvBinding]:
    """Every binding of an env file's text, exactly as python-dotenv's ``parse_stream`` gives them."""
    position, line, end = 0, 1, len(text)
    reader = None
    while position < end:
        match = PLAIN.match(text, position) or COMMENT.match(text, position)
        if match is not None and match.end() > position:
            if match.re is PLAIN:
                value = match.group("value")
                if value is not None:
                    value = INLINE_COMMENT.sub("", value).rstrip()
                else:
                    value = match.group("single") if match.group("single") is not None else match.group("double")
                yield EnvBinding(match.group("key"), value, line)
            line += newlines(match.group(0))
            position = match.end()
            continue
        if reader is None:
            reader = Reader(_Text(text))
        reader.position = Position(position, line)
        binding = parse_binding(reader)
        yield EnvBinding(binding.key, binding.value, binding.original.line, binding.error)
        position, line = reader.position.chars, reader.position.line


class _Text:
    """The smallest stream python-dotenv's Reader accepts (it calls read() once)."""

    def __init__(self, text: str):
        self.text = text

    def read(self) -> str:
        return self.text
