"""Domains that become configuration (ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, CORS_ALLOWED_ORIGINS).

A domain is one host name per ``--domain`` flag or list item: letters, digits and hyphens in
dot-separated labels (RFC 1123), internationalised names accepted and written in their ASCII
(punycode) form, which is what browsers send in the Host header. Anything else (``evil.com,*``,
spaces, quotes, a newline, a path, a port, a leading ``-``, a wildcard) is refused, because it
would be written verbatim into a comma-separated env value. IP addresses are refused too: a
production domain is a name a certificate can be issued for.

Python's ``idna`` codec does the IDNA part; the label rules are a few lines, hence by hand.
"""

from __future__ import annotations

import re

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainError(ValueError):
    """Not a host name; the message quotes the value safely (repr) and says why."""


def normalize_domain(value: str) -> str:
    """The domain in lower-case ASCII form; DomainError when it is not a host name."""
    if not isinstance(value, str):
        raise DomainError(f"{value!r} is not a host name")
    shown = repr(value)
    if value != value.strip() or not value:
        raise DomainError(f"{shown} is not a host name (empty, or spaces around it)")
    bad = re.search(r"[\s,*/\\'\"@:;?#<>|&$`()\[\]{}=+%!~^]", value)
    if bad:
        what = {",": "a comma (give one domain per --domain flag)", "*": "a wildcard", "/": "a path",
                ":": "a port or scheme"}.get(bad.group(), repr(bad.group()))
        raise DomainError(f"{shown} is not a host name: it contains {what}")
    try:
        ascii_name = value.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise DomainError(f"{shown} is not a valid internationalised host name") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2:
        raise DomainError(f"{shown} is not a host name (it needs a dot, as example.com, and at most 253 characters)")
    for label in labels:
        if not LABEL.match(label):
            raise DomainError(f"{shown} is not a host name: label {label!r} must be 1-63 letters, digits "
                              "or hyphens, not starting or ending with '-'")
    if labels[-1].isdigit():
        raise DomainError(f"{shown} is an IP address, not a domain")
    return ascii_name


def normalize_domains(values, source: str = "--domain") -> list[str]:
    """Each value checked and normalised, duplicates dropped, order kept."""
    found: list[str] = []
    for value in values or []:
        try:
            name = normalize_domain(value)
        except DomainError as exc:
            raise DomainError(f"{source}: {exc}") from None
        if name not in found:
            found.append(name)
    return found
