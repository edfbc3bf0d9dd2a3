"""The bounds on a CQL2 filter before it is parsed: its length, and its nesting by a scan
of its tokens."""

from __future__ import annotations

import pytest

from gis_layers.cql2_parse import MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, nesting, parse
from gis_layers.errors import FilterError


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


@pytest.mark.parametrize("language", ["cql2-text", "cql2-json"])
def test_parse_refuses_a_filter_past_either_limit(language: str) -> None:
    long = "[" + ",".join(["1"] * MAX_FILTER_LENGTH) + "]"
    with pytest.raises(FilterError, match=f"the limit is {MAX_FILTER_LENGTH:,}"):
        parse(long, language)
    with pytest.raises(FilterError, match=f"the limit is {MAX_FILTER_DEPTH}"):
        parse("[" * (MAX_FILTER_DEPTH + 1), language)
