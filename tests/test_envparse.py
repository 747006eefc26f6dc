"""The fast env parser gives exactly python-dotenv's bindings (keys, values, errors and their lines)."""

from __future__ import annotations

import io
import random

import pytest
from dotenv.parser import parse_stream

from remediation.envparse import parse_env

PIECES = ["KEY", "export ", "A_1", "b.c", "=", " ", "\t", "value", "'", '"', "#", " #", "\\", "\\'", '\\"', "\n",
          "\r\n", "\r", "x y", "é", "${X}", "\\n", "=v", "  ", "\x0b", "export", "exportA=1", "\u2028", "\u00a0",
          "''", '""', "==", "A=1\n", "'a b'", '"a b"', "A='x' #c\n", 'A="y"\n', "A='z'q\n"]


def dotenv_bindings(text):
    return [(b.key, b.value, b.error, b.original.line if b.error else None)
            for b in parse_stream(io.StringIO(text)) if b.key is not None or b.error]


def fast_bindings(text):
    return [(b.key, b.value, b.error, b.line if b.error else None) for b in parse_env(text) if b.key is not None or b.error]


CASES = [
    "A=1\nB=2",
    "A=1 # note\nB='x y' # q\nC=\"a\\nb\"\n",
    "\n\n  export A = spaced value  \n#comment\n\nB=\n",
    "A='unterminated\nB=2\nC=3\n",
    'A="multi\nline"\nB=after\n',
    "A='x' trailing\nB=2\n",
    "NOVALUE\nA=1\n'quoted key'=v\n",
    "A=1\r\nB=2\r\nC='x'\r\n",
    "A=1\rB=2\r",
    "A=#notcomment\nB=x#y\nC=x #y\n",
    "=novalue\nA=1\n   \n",
    "A= 'x'\nB=  \"y\"\n",
]


@pytest.mark.parametrize("text", CASES)
def test_known_shapes(text):
    assert fast_bindings(text) == dotenv_bindings(text)


def test_generated_files():
    rng = random.Random(8)
    for _ in range(5000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40)))
        assert fast_bindings(text) == dotenv_bindings(text), repr(text)
