"""The bounds on a CQL2 filter before it is parsed: the nesting scan, and the parser's
own stack, which must hold any filter the length limit lets through."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gis_layers.cql2_filter import MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, nesting


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("levels > 4", 0),
        ("NOT (levels > 4)", 2),
        ("NOT NOT levels > 4", 2),
        ("((levels > 4)) AND (area_m2 < 3)", 2),
        ("levels = - - 4", 2),  # unary minus twice
        ("levels = -4 AND area_m2 > -1.5e-3", 0),  # signs of numbers
        ("S_INTERSECTS(geometry, POLYGON((-1 -1, 1 -1, 1 1, -1 -1)))", 3),
        ("land_use = 'NOT ((((-' AND \"NOT (\" = 1", 0),  # in a string, a quoted name
        ("land_use = 'it''s (' OR (levels > 4)", 1),  # '' is a quote inside a string
        ("NOT a = 1 AND NOT b = 2", 2),  # side by side, counted as nested
        ("(NOT a = 1) AND (NOT b = 2)", 2),  # each closes with its bracket
        ("levels IN ((4)", 2),
        ("land_use = 'never closed ((((", 0),
        ("note_count > 1 AND annotated = true", 0),  # NOT only as a word
    ],
)
def test_cql2_text_nesting_counts_brackets_and_prefix_operators(text: str, depth: int) -> None:
    assert nesting(text, "cql2-text") == depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('{"op": ">", "args": [{"property": "levels"}, 4]}', 3),
        ('{"op": "=", "args": [{"property": "land_use"}, "[[{{\\"]]"]}', 3),
        ('[[[["a"]]]]', 4),
    ],
)
def test_cql2_json_nesting_counts_objects_and_arrays(text: str, depth: int) -> None:
    assert nesting(text, "cql2-json") == depth


def test_the_scan_stops_past_the_limit() -> None:
    assert nesting("(" * 100_000, "cql2-text") == MAX_FILTER_DEPTH + 1


# the parser's worst measured stack use a character: opening parentheses, then NOT (
WORST = ["(" * MAX_FILTER_LENGTH, "NOT (" * (MAX_FILTER_LENGTH // 5)]
_PARSE = """
import sys, threading, cql2
from gis_layers.cql2_filter import _on_parser_stack
text = {text!r}
try:
    {call}
except Exception:
    pass  # a refusal is fine; only the process's death is not
print("alive")
"""


def _parse_in_a_child(text: str, call: str) -> subprocess.CompletedProcess[str]:
    code = _PARSE.format(text=text, call=call)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("text", WORST, ids=["parentheses", "NOT ("])
def test_the_parser_stack_holds_any_filter_within_the_length_limit(text: str) -> None:
    """Past the nesting scan (called here without it), the parser's thread still survives
    the worst filter of :data:`MAX_FILTER_LENGTH` characters; on a thread of the default
    stack the same parse kills the process, so the check can fail."""
    parsed = _parse_in_a_child(text, "_on_parser_stack(lambda: cql2.parse_text(text).to_json())")
    assert parsed.returncode == 0 and "alive" in parsed.stdout, parsed.stderr[-2000:]
    default = _parse_in_a_child(
        text,
        "t = threading.Thread(target=lambda: cql2.parse_text(text)); t.start(); t.join()",
    )
    assert default.returncode != 0, "the default stack held it: this test proves nothing"
