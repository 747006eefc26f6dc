"""What counts as a secret-looking value: detect-secrets' plugins (file names: names.py).

Values are found by detect-secrets' own plugins and heuristic filters (the issue's anchor), called
directly rather than through its global settings, which are process-wide and not thread-safe
(a fleet audit scans several repositories at once). Its plugins cost ~250 us a line together, so a
line reaches them only through a cheap pre-filter that every match of theirs passes (proven by
tests/test_secret_scan_rules.py): a denylisted keyword for the keyword plugin, a quoted run long
enough to beat the entropy limit for the two entropy plugins, a 16-character token run (or a
private key header, or URL user info) for the regex plugins.

The live secrets are looked up by ``tokens``: the pieces of a line a value can be.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote

from ..masking import split_userinfo

# --- values: detect-secrets' plugins --------------------------------------------------------

SKIPPED_PLUGINS = {"IPPublicDetector"}  # an address is not a secret
# The entropy plugins read quoted strings only; Shannon entropy is at most log2 of the number of
# distinct characters, so beating 4.5 (base64) takes 23 of them and beating 3.0 (hex) 9 hex digits.
QUOTED_RUN = re.compile(r"""(["'])([A-Za-z0-9+/=\\_\-]{9,})\1""")
HEX = frozenset("0123456789abcdefABCDEF")
LONG_RUN = re.compile(r"[A-Za-z0-9_\-+/=]{16,}")
# Regex plugins whose matches can be shorter than LONG_RUN: URL user info, key headers, Artifactory's
# AKC/AP keys, a minimal JWT, Slack's xox tokens.
OTHER_HINT = re.compile(r"PRIVATE KEY|://[^\s/@]*@|[Cc]loudant|AKC[a-zA-Z0-9]{10}|AP[\dA-F][a-zA-Z0-9]{8}|eyJ|xox[abposr]-")
# Every word of the keyword plugin's denylist holds one of these (lower case): a substring test
# instead of its case-insensitive alternation, the slowest regex of all.
KEYWORD_PARTS = ("key", "pass", "pwd", "secret", "contrase")
ALLOWLIST = re.compile(r"pragma:\s*allowlist[ -]secret", re.I)
MAX_LINE = 4000  # minified files: detect-secrets' regexes are slow on huge lines


@lru_cache(maxsize=1)
def plugins() -> tuple:
    """(keyword plugin, entropy plugins, regex plugins), built once."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    built = [cls() for cls in get_mapping_from_secret_type_to_class().values() if cls.__name__ not in SKIPPED_PLUGINS]
    keyword = [p for p in built if type(p).__name__ == "KeywordDetector"]
    entropy = [p for p in built if type(p).__name__.endswith("HighEntropyString")]
    regex = [p for p in built if p not in keyword and p not in entropy]
    return tuple(keyword), tuple(entropy), tuple(regex)


@lru_cache(maxsize=1)
def rules_version() -> str:
    """Changes when the rules do (this module, the scan's, detect-secrets' version): what an older
    rule set found is not reused. Read without importing detect-secrets (0.3-0.7 s with requests):
    a cached audit never needs it."""
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    ours = "".join(Path(__file__).with_name(name).read_text(encoding="utf-8") for name in ("rules.py", "names.py", "scan.py"))
    return hashlib.sha256(f"{version('detect-secrets')}|{ours}".encode()).hexdigest()[:12]


def skipped_file(path: str) -> bool:
    """Files whose values are not secrets (lock files) or not text, by detect-secrets' own filters."""
    from detect_secrets.filters.heuristic import is_lock_file, is_non_text_file

    return is_lock_file(path) or is_non_text_file(path)


def false_positive(secret: str, line: str, plugin) -> bool:
    """detect-secrets' heuristic filters (the ones its default settings run)."""
    from detect_secrets.filters import heuristic as h

    return (h.is_sequential_string(secret) or h.is_potential_uuid(secret) or h.is_likely_id_string(secret, line, plugin)
            or h.is_templated_secret(secret) or h.is_prefixed_with_dollar_sign(secret) or h.is_indirect_reference(line)
            or h.is_not_alphanumeric_string(secret))


PLACEHOLDER = re.compile(
    r"^(?:password|passwd|secret|pass|test|none|null|empty|todo|tbd|\*+|x+|\.{3,}|<[^>]*>|\$\{[^}]*\}|\{\{.*\}\}|%\(.*\)s)$"
    r"|change[-_ ]?(?:me|it|this)|replace[-_ ]?me|example|placeholder|your[-_ ]|dummy|redacted|xxxx|fixme",
    re.I)


def placeholder(secret: str) -> bool:
    """A template's stand-in (change-me, <your-token>, ${VAR}, your_password...), not a secret: gitleaks'
    stop words, in short."""
    return bool(PLACEHOLDER.search(secret.strip("'\"")))


# What each regex plugin's patterns cannot match without (read off detect-secrets 1.5's denylists;
# tests/test_secret_scan_rules.py holds one secret per plugin to prove them): a substring test is
# far cheaper than their look-behind patterns. (case-sensitive literals, lower-case literals, and
# for the keyword-shaped ones, words of which one must also be there).
KEY_WORDS = ("key", "pw", "pass", "token")
GATES = {
    "ArtifactoryDetector": (("AKC", "AP"), ()),
    "AWSKeyDetector": (("A3T", "ABIA", "ACCA", "AKIA", "ASIA"), ("aws",)),
    "AzureStorageKeyDetector": (("AccountKey=",), ()),
    "BasicAuthDetector": (("://",), ()),
    "CloudantDetector": ((), ("cl",), KEY_WORDS + ("cloudant",)),
    "DiscordBotTokenDetector": ((".",), ()),
    "GitHubTokenDetector": (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), ()),
    "GitLabTokenDetector": (("gl", "GR1348941"), ()),
    "IbmCloudIamDetector": ((), KEY_WORDS),
    "IbmCosHmacDetector": ((), ("secret",), ("key",)),
    "JwtTokenDetector": (("eyJ",), ()),
    "MailchimpDetector": (("-us",), ()),
    "NpmDetector": (("_authToken",), ()),
    "OpenAIDetector": (("T3BlbkFJ",), ()),
    "PrivateKeyDetector": (("PRIVATE KEY", "PuTTY-User-Key-File-2"), ()),
    "PypiTokenDetector": (("pypi-",), ()),
    "SendGridDetector": (("SG.",), ()),
    "SlackDetector": ((), ("xox", "hooks.slack.com")),
    "SoftlayerDetector": ((), ("softlayer", "sl"), KEY_WORDS + ("softlayer",)),
    "SquareOAuthDetector": (("sq0csp-",), ()),
    "StripeDetector": (("k_live_",), ()),
    "TelegramBotTokenDetector": ((":",), ()),
    "TwilioKeyDetector": (("AC", "SK"), ()),
}


@lru_cache(maxsize=1)
def gate_table():
    """(literal, lower-cased?, plugin names it opens for), the 'also' words by plugin name."""
    entries, also = [], {}
    for name, (literal, lowered, *more) in GATES.items():
        entries += [(text, False, name) for text in literal] + [(text, True, name) for text in lowered]
        if more:
            also[name] = more[0]
    return tuple(entries), also


def open_gates(line: str, lower: str) -> set[str]:
    """The names of the regex plugins whose gate is open for ``line``."""
    entries, also = gate_table()
    opened = {name for text, lowered, name in entries if text in (lower if lowered else line)}
    return {name for name in opened if name not in also or any(text in lower for text in also[name])}


def candidate_plugins(line: str) -> list:
    """The plugins that could match ``line`` (none for most lines): the cheap pre-filter."""
    keyword, entropy, regex = plugins()
    chosen = []
    lower = line.lower()
    if LONG_RUN.search(line) or OTHER_HINT.search(line):
        # A regex plugin yields only what its denylist matches: ask the patterns before the plugin,
        # whose own call costs ten times more.
        opened = open_gates(line, lower)
        chosen += [p for p in regex if (type(p).__name__ in opened or type(p).__name__ not in GATES)
                   and (not hasattr(p, "denylist") or any(r.search(line) for r in p.denylist))]
    if any(part in lower for part in KEYWORD_PARTS):
        chosen += keyword
    for match in QUOTED_RUN.finditer(line):
        distinct = set(match.group(2))
        if len(distinct) >= 23 or (len(distinct) >= 9 and distinct <= HEX):
            chosen += entropy
            break
    return chosen


def specific(rule: str) -> bool:
    """A rule that names a provider's credential format (not a keyword or entropy guess)."""
    return rule not in ("Secret Keyword", "Base64 High Entropy String", "Hex High Entropy String")


def candidate_lines(lines: list[str]) -> list[int]:
    """Indexes of the lines some gate opens for (no other line can hold a finding): each gate is
    searched over the whole text, skipping to the next line after a hit (C-speed scanning)."""
    import bisect
    from itertools import accumulate

    text = "\n".join(lines)
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    found = set()
    for gate in (LONG_RUN, OTHER_HINT, QUOTED_RUN):
        match = gate.search(text)
        while match:
            index = bisect.bisect_right(starts, match.start()) - 1
            found.add(index)
            match = gate.search(text, starts[index + 1])
    lower = text.lower()
    for part in KEYWORD_PARTS:
        at = lower.find(part)
        while at >= 0:
            index = bisect.bisect_right(starts, at) - 1
            found.add(index)
            at = lower.find(part, starts[index + 1])
    return sorted(found)


def find_values(path: str, line: str, everything: bool = False):
    """(rule, value) for each secret-looking value in one line of ``path``; ``everything`` skips the
    pre-filter (the tests compare both)."""
    if len(line) > MAX_LINE or ALLOWLIST.search(line):
        return []
    found, seen = [], set()
    keyword, entropy, regex = plugins()
    for plugin in (regex + keyword + entropy) if everything else candidate_plugins(line):
        for potential in plugin.analyze_line(filename=path, line=line, line_number=0):
            secret = potential.secret_value
            if not secret or placeholder(secret) or false_positive(secret, line, plugin):
                continue
            # Some plugins give back a part of the match (GitHub's: the "ghp" prefix); the value's
            # identity is the run of the line around it, so one value is one finding, under the
            # first rule that knew it (the provider formats are asked first).
            identity = next((run for run in SPLIT.split(line) if secret in run), secret)
            if identity not in seen:
                seen.add(identity)
                found.append((potential.type, identity))
    return found


# --- tokens, for the live secrets ----------------------------------------------------------------

SPLIT = re.compile(r"""[\s'"`]+""")
PUNCTUATION = ",;()[]{}<>"  # around a value in code; kept as written too (Django keys hold "(" and ")")
MIN_TOKEN = 4


def tokens(line: str) -> set[str]:
    """The pieces of a line a secret could be: runs between quotes and blanks (as written and without
    the punctuation of code around them), the value after the first ``=`` or ``:`` of each, and URL
    passwords (remediation/masking.py's lenient parser)."""
    found = set()
    for run in SPLIT.split(line):
        if len(run) < MIN_TOKEN:
            continue
        for piece in {run, run.strip(PUNCTUATION)}:
            found.add(piece)
            for sep in ("=", ":"):
                if sep in piece:
                    value = piece.split(sep, 1)[1]
                    found |= {value, value.strip(PUNCTUATION)}
        if "://" in run:
            start = run.find("://")
            scheme = run[:start].rsplit("=", 1)[-1].rsplit(":", 1)[-1].lstrip(PUNCTUATION)
            parts = split_userinfo(f"{scheme}{run[start:]}") if scheme else None
            if parts and parts[2]:
                found |= {parts[2], unquote(parts[2])}
            elif parts and parts[1]:
                found |= {parts[1], unquote(parts[1])}
    return {t for t in found if len(t) >= MIN_TOKEN}
