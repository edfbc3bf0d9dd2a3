"""A CQL2 filter, text or JSON, parsed by ``cql2`` (cql2-rs) into CQL2-JSON, within bounds.

cql2-rs parses by recursion, with backtracking: a filter nesting a few thousand levels
overflows its stack (which aborts the process, not the request), and a malformed one
nesting n groups takes time growing as 2^n (18 unclosed parentheses took 0.8 s, as did 8
around 8 KB of conditions). A filter is therefore refused before it is parsed when it is
longer than :data:`MAX_FILTER_LENGTH` or deeper than :data:`MAX_FILTER_DEPTH`; what the
depth limit cannot bound (the time of a malformed filter) the API bounds by parsing in a
helper process it kills past a deadline (``api/filter_parser.py``). This module imports
only cql2, so that the helper starts fast.
"""

from __future__ import annotations

import re
from typing import Any

import cql2

from gis_layers.errors import FilterError

LANGUAGES = ("cql2-text", "cql2-json")
_DRAFT_NAMES = {"cql-text": "cql2-text", "cql-json": "cql2-json"}
"""The drafts' names, which clients such as GDAL's OAPIF driver still send."""

MAX_FILTER_LENGTH = 8192
"""Characters in one filter. A filter written by a person is typically a few hundred; a
polygon of about 300 vertices in CRS84 fits. A GET URL longer than this passes few
proxies anyway (nginx's default header buffer is 8 KiB), and the parse time of a
malformed filter grows with its length."""
MAX_FILTER_DEPTH = 64
"""Nesting levels in one filter: brackets (parentheses, square brackets; objects and
arrays in cql2-json) and prefix operators (``NOT``, a sign that is not part of a number)
open at once. Real filters nest a few levels, a few more where a client brackets every
condition it joins; a geometry literal takes at most six. cql2-rs recurses at every
level with up to 7.8 KB of stack: 1,074 nested ``NOT (`` overflowed an 8 MiB stack and
killed the API process, 1,563 parentheses too, and 500 levels exceeded Python's
recursion limit when the expression was compiled. 64 is far below all of these and below
serde_json's own limit (128) for cql2-json."""


def parse(text: str, language: str = "cql2-text") -> Any:
    """A CQL2 filter in either encoding as CQL2-JSON, or :class:`FilterError` (also for
    a filter longer or deeper than :data:`MAX_FILTER_LENGTH`, :data:`MAX_FILTER_DEPTH`)."""
    language = _DRAFT_NAMES.get(language, language)
    if language not in LANGUAGES:
        raise FilterError(f"filter-lang {language!r} is not supported; use one of {LANGUAGES}")
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(
            f"filter is {len(text):,} characters long; the limit is {MAX_FILTER_LENGTH:,}"
        )
    if nesting(text, language) > MAX_FILTER_DEPTH:
        raise FilterError(
            f"filter nests more than {MAX_FILTER_DEPTH} levels deep (each bracket, NOT and"
            f" sign operator opens a level); the limit is {MAX_FILTER_DEPTH}"
        )
    try:
        if language == "cql2-text":
            return cql2.parse_text(text).to_json()
        return cql2.parse_json(text).to_json()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        raise FilterError(f"filter is not valid {language}: {exc}") from None


# An unclosed string runs to the end (no rescan from every quote: the scan stays linear).
_TEXT_TOKENS = re.compile(
    r"'(?:[^']|'')*(?:'|\Z)"  # a string literal ('' is a quote inside)
    r'|"[^"]*(?:"|\Z)'  # a quoted identifier
    r"|(?P<open>[(\[])|(?P<close>[)\]])"
    r"|(?P<prefix>\bNOT\b|[-+](?![\d.]))",  # a sign before a digit belongs to a number
    re.IGNORECASE,
)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)|(?P<open>[{[])|(?P<close>[}\]])', re.DOTALL)


def nesting(text: str, language: str) -> int:
    """How deep ``text`` nests, by a scan of its tokens (no parse), stopping once past
    :data:`MAX_FILTER_DEPTH`. A prefix operator counts as a level until the bracket
    around it closes, which overcounts prefix operators side by side (``NOT a AND NOT b``
    counts 2); a sign before a digit is read as the number's own."""
    tokens = _TEXT_TOKENS if language == "cql2-text" else _JSON_TOKENS
    prefixes = [0]  # per open bracket, the prefix operators opened inside it
    depth = deepest = 0
    for token in tokens.finditer(text):
        if token["open"]:
            prefixes.append(0)
            depth += 1
        elif token["close"]:
            if len(prefixes) > 1:
                depth -= 1 + prefixes.pop()
        elif token.lastgroup == "prefix":
            prefixes[-1] += 1
            depth += 1
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_FILTER_DEPTH:
            break
    return deepest
