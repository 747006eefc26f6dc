"""Host names as Ansible writes them: ``host:port``, ``[ipv6]:port``, ranges ``web[01:03]``.

Shared by both Ansible formats; ``_is_ipv6`` also keeps ``--limit`` from splitting an IPv6 address."""

from __future__ import annotations

import ipaddress
import re
import string

from .raw import _fail


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


MAX_RANGE_HOSTS = 10_000  # one pattern; an unbounded range once made an inventory load forever


def range_size(body: str, begin: str, end: str, step: int) -> int:
    """How many names ``[begin:end:step]`` gives, without making them (0 when it is not a range)."""
    if begin.isdigit() and end.isdigit():
        return len(range(int(begin), int(end) + 1, step))
    if len(begin) == 1 and len(end) == 1 and begin in string.ascii_letters and end in string.ascii_letters:
        return len(range(string.ascii_letters.index(begin), string.ascii_letters.index(end) + 1, step))
    return 0


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
    count = range_size(body, begin, end, step)
    tails = _expand_ranges(tail)
    if count * len(tails) > MAX_RANGE_HOSTS:
        raise ValueError(f"the host range [{body}] makes {count * len(tails):,} hosts; at most "
                         f"{MAX_RANGE_HOSTS:,} per pattern (split it, or use groups)")
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
    return [head + item + rest for item in items for rest in tails]
