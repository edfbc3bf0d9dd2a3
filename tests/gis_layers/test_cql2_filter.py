"""CQL2 filters compiled to SQL and shapely, run on a real database.

Every selection is checked against the same condition evaluated independently with
pandas and shapely on the layer as generated (``tests/api/lots.py``), through the
features query the API runs, on a connection whose time zone is Bucharest's (the
answer must not depend on the server's zone). Every refusal is a :class:`FilterError`
(400 at the API) whose reason is checked; the API's own tests
(``tests/api/test_filtering.py``) check the parameters around it.
"""

from __future__ import annotations

import asyncio
import json
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from psycopg_pool import AsyncConnectionPool

from gis_layers import cql2_filter, cql2_parse, features, queryables
from gis_layers.errors import FilterError
from gis_layers.importer import import_file
from tests.api.lots import WGS, N, lots_database

ZONE = "Europe/Bucharest"
AREA = shapely.Polygon(
    [(24.8620, 43.7510), (24.8660, 43.7505), (24.8665, 43.7530), (24.8625, 43.7535)]
)
BOX = (24.8600, 43.7520, 24.8640, 43.7540)
LINE = shapely.LineString([(24.8605, 43.7503), (24.8665, 43.7538)])


QUERYABLES = {
    name: queryables.Queryable(name, kind)
    for name, kind in [
        ("land_use", "string"),
        ("levels", "integer"),
        ("area_m2", "number"),
        ("public", "boolean"),
        ("owner", "string"),
        ("surveyed", "date-time"),
    ]
}
"""The lots' queryables, as their import records them (checked below)."""


GRID = gpd.GeoDataFrame(
    {"cell": range(16)},
    geometry=[
        shapely.box(24 + x / 4, 43 + y / 4, 24.25 + x / 4, 43.25 + y / 4)
        for y in range(4)
        for x in range(4)
    ],
    crs="OGC:CRS84",
)
"""Squares whose corners are exact in binary and in decimal: equality and touching need
exact coordinates (cql2 reads 24.865553640603018 as 24.865553640603014)."""


@dataclass(frozen=True)
class Lots:
    """The database holding the lots (and the grid), and the lots' queryables."""

    url: str
    queryables: dict[str, queryables.Queryable]


@pytest.fixture(scope="module")
def lots(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Iterator[Lots]:
    folder = Path(tmp_path_factory.mktemp("lots"))
    GRID.to_file(folder / "grid.gpkg", layer="grid")
    with lots_database(pg_server, folder) as url:
        with psycopg.connect(url) as conn:
            import_file(conn, folder / "grid.gpkg")
            row = conn.execute("SELECT attributes FROM layers WHERE layer_id = 'lots'").fetchone()
        assert row is not None
        yield Lots(url, queryables.from_attributes(row[0]))


def test_the_lots_queryables(lots: Lots) -> None:
    assert lots.queryables == QUERYABLES


def _same(geometry: shapely.Geometry) -> shapely.Geometry:
    return geometry


def _select(lots: Lots, expression: Any, layer: str = "lots") -> list[int]:
    """The ids of the features the compiled filter selects, as the API pages them."""
    found_in = (
        lots.queryables if layer == "lots" else {"cell": queryables.Queryable("cell", "integer")}
    )
    compiled = cql2_filter.compile_filter(expression, found_in, _same)

    async def page() -> tuple[list[str], int]:
        async with AsyncConnectionPool(
            lots.url, kwargs={"options": f"-c TimeZone={ZONE}"}, min_size=1, max_size=1, open=False
        ) as pool:
            query = features.ItemsQuery(layer, filter=compiled, limit=N)
            return await features.page(pool, query, anyio.CapacityLimiter(1), inline=0)

    found, count = asyncio.run(page())
    ids = [json.loads(feature)["id"] for feature in found]
    assert count == len(ids)
    return ids


def _expected(mask: pd.Series | np.ndarray) -> list[int]:
    expected = [i + 1 for i in np.flatnonzero(np.asarray(mask, dtype=bool))]
    assert 0 < len(expected) < N, "a case that selects nothing or everything proves little"
    return expected


def _ring(polygon: shapely.Polygon) -> str:
    return ", ".join(f"{x} {y}" for x, y in polygon.exterior.coords)


def _wkt(geometry: shapely.Geometry) -> str:
    return shapely.to_wkt(geometry, rounding_precision=-1)


def _at(moment: str) -> pd.Timestamp:
    return pd.Timestamp(moment, tz="UTC")


COMPARE = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le}
COMPARE |= {">": operator.gt, ">=": operator.ge}
POLYGON = f"POLYGON(({_ring(AREA)}))"
BBOX = f"BBOX({', '.join(map(str, BOX))})"
INSIDE = AREA.centroid  # inside lot(s) under the area's centre
Condition = Callable[[gpd.GeoDataFrame], object]

CASES: list[tuple[str, Condition]] = [
    *[(f"levels {op} 4", lambda f, c=c: c(f.levels, 4)) for op, c in COMPARE.items()],
    # a literal on the left: 4 < levels is levels > 4
    *[(f"4 {op} levels", lambda f, c=c: c(4, f.levels)) for op, c in COMPARE.items()],
    ("levels > 3.5", lambda f: f.levels >= 4),
    ("area_m2 >= 2500.5 AND area_m2 < 4000", lambda f: (f.area_m2 >= 2500.5) & (f.area_m2 < 4000)),
    ("public = false", lambda f: ~f.public),
    ("public <> true", lambda f: ~f.public),
    ("land_use LIKE 'CC%'", lambda f: f.land_use.str.startswith("CC")),
    ("land_use LIKE '_S'", lambda f: f.land_use == "IS"),
    ("land_use NOT LIKE 'CC%'", lambda f: ~f.land_use.str.startswith("CC")),
    ("levels IN (1, 3, 5)", lambda f: f.levels.isin([1, 3, 5])),
    ("land_use IN ('L', 'IS')", lambda f: f.land_use.isin(["L", "IS"])),
    ("levels NOT BETWEEN 2 AND 5", lambda f: ~f.levels.between(2, 5)),
    ("owner IS NULL", lambda f: f.owner.isna()),
    ("owner IS NOT NULL", lambda f: f.owner.notna()),
    ("surveyed >= DATE('2020-07-01')", lambda f: f.surveyed >= _at("2020-07-01")),
    ("DATE('2020-07-01') > surveyed", lambda f: f.surveyed < _at("2020-07-01")),
    (
        "surveyed < TIMESTAMP('2020-03-15T12:00:00Z')",
        lambda f: f.surveyed < _at("2020-03-15T12:00:00"),
    ),
    (
        "surveyed BETWEEN DATE('2020-02-01') AND DATE('2020-02-29')",
        lambda f: f.surveyed.between(_at("2020-02-01"), _at("2020-02-29")),
    ),
    ("levels > 3 OR FALSE", lambda f: f.levels > 3),
    ("levels > 3 AND TRUE", lambda f: f.levels > 3),
    # spatial predicates, the geometry first and the literal first
    (f"S_INTERSECTS(geometry, {POLYGON})", lambda f: f.intersects(AREA)),
    (f"S_INTERSECTS({POLYGON}, geometry)", lambda f: f.intersects(AREA)),
    (f"S_WITHIN(geometry, {POLYGON})", lambda f: f.within(AREA)),
    (f"S_CONTAINS({POLYGON}, geometry)", lambda f: f.within(AREA)),
    (f"S_CONTAINS(geometry, {_wkt(INSIDE)})", lambda f: f.contains(INSIDE)),
    (f"S_WITHIN({_wkt(INSIDE)}, geometry)", lambda f: f.contains(INSIDE)),
    (f"S_DISJOINT(geometry, {POLYGON})", lambda f: f.disjoint(AREA)),
    (f"S_DISJOINT({POLYGON}, geometry)", lambda f: f.disjoint(AREA)),
    (f"S_OVERLAPS(geometry, {POLYGON})", lambda f: f.overlaps(AREA)),
    (f"S_OVERLAPS({POLYGON}, geometry)", lambda f: f.overlaps(AREA)),
    (f"S_CROSSES(geometry, {_wkt(LINE)})", lambda f: f.crosses(LINE)),
    (f"S_CROSSES({_wkt(LINE)}, geometry)", lambda f: f.crosses(LINE)),
    (f"S_INTERSECTS(geometry, {BBOX})", lambda f: f.intersects(shapely.box(*BOX))),
    (
        f"S_INTERSECTS(geometry, BBOX({BOX[0]}, {BOX[1]}, -10, {BOX[2]}, {BOX[3]}, 50))",
        lambda f: f.intersects(shapely.box(*BOX)),  # 3D: the heights do not matter
    ),
    (
        "S_INTERSECTS(geometry, BBOX(24.862, 43.750, 24.862, 43.752))",  # no width: a line
        lambda f: f.intersects(shapely.LineString([(24.862, 43.750), (24.862, 43.752)])),
    ),
    (
        "S_INTERSECTS(geometry, BBOX(24.860, 43.752, 24.866, 43.752))",  # no height
        lambda f: f.intersects(shapely.LineString([(24.860, 43.752), (24.866, 43.752)])),
    ),
    # NOT of a property test inside an OR with a spatial predicate (three-valued logic:
    # a null owner makes "owner = 'city'" unknown, and NOT unknown is unknown)
    (
        f"NOT (levels > 3) OR S_INTERSECTS(geometry, {BBOX})",
        lambda f: (f.levels <= 3) | f.intersects(shapely.box(*BOX)),
    ),
    (
        f"NOT (owner = 'city') OR S_WITHIN(geometry, {POLYGON})",
        lambda f: (f.owner.notna() & (f.owner != "city")) | f.within(AREA),
    ),
    (
        f"owner = 'state' AND S_INTERSECTS(geometry, {BBOX})",
        lambda f: (f.owner == "state") & f.intersects(shapely.box(*BOX)),
    ),
    (
        f"(owner = 'state' OR levels > 7) AND NOT S_DISJOINT(geometry, {POLYGON})",
        lambda f: ((f.owner == "state") | (f.levels > 7)) & f.intersects(AREA),
    ),
    (
        f"NOT (owner <> 'city' AND S_INTERSECTS(geometry, {POLYGON}))",
        lambda f: (f.owner == "city") | ~f.intersects(AREA),
    ),
]


@pytest.mark.parametrize(("text", "condition"), CASES, ids=[c[0][:60] for c in CASES])
def test_cql2_text_selects_what_the_condition_selects(
    lots: Lots, text: str, condition: Condition
) -> None:
    expected = _expected(condition(WGS))  # type: ignore[arg-type]
    assert _select(lots, cql2_parse.parse(text)) == expected


@pytest.mark.parametrize(
    ("predicate", "literal"),
    [
        ("S_EQUALS", "POLYGON((24.25 43.5, 24.5 43.5, 24.5 43.75, 24.25 43.75, 24.25 43.5))"),
        ("S_TOUCHES", "POINT(24.5 43.5)"),  # the corner of four cells
        ("S_TOUCHES", "LINESTRING(24.25 43.1, 24.25 43.4)"),  # along the side of two
    ],
)
def test_equals_and_touches_in_either_order(lots: Lots, predicate: str, literal: str) -> None:
    geometry = shapely.from_wkt(literal)
    check = GRID.geom_equals if predicate == "S_EQUALS" else GRID.touches
    expected = _expected(check(geometry))
    for args in (f"geometry, {literal}", f"{literal}, geometry"):
        text = f"{predicate}({args})"
        assert _select(lots, cql2_parse.parse(text), "grid") == expected, text


def test_an_instant_with_an_offset_keeps_it(lots: Lots) -> None:
    one = WGS.surveyed[5]  # midnight UTC is 03:00 in Bucharest's summer time
    raw = one.tz_convert("Etc/GMT-3").isoformat()
    assert raw.endswith("T03:00:00+03:00")
    expression = cql2_filter.datetime_filter(lots.queryables["surveyed"], raw)
    assert _select(lots, expression) == _expected(WGS.surveyed == one)


def test_a_timestamp_without_a_zone_is_utc(lots: Lots) -> None:
    """CQL2 timestamps are UTC: 02:00 without a zone is not 02:00 in Bucharest (a lot
    surveyed at midnight UTC that day would then be after it)."""
    moment = WGS.surveyed[5] + pd.Timedelta(hours=2)
    naive = {"timestamp": moment.tz_localize(None).isoformat()}
    expression = {"op": ">=", "args": [{"property": "surveyed"}, naive]}
    assert _select(lots, expression) == _expected(WGS.surveyed >= moment)


def test_part_1_property_filters_on_every_type(lots: Lots) -> None:
    def select(name: str, raw: str) -> list[int]:
        return _select(lots, cql2_filter.property_equals(lots.queryables[name], raw))

    assert select("levels", "3") == _expected(WGS.levels == 3)
    assert select("area_m2", str(WGS.area_m2[7])) == _expected(WGS.area_m2 == WGS.area_m2[7])
    assert select("public", "false") == _expected(~WGS.public)
    assert select("public", "true") == _expected(WGS.public)
    assert select("land_use", "CC") == _expected(WGS.land_use == "CC")
    one = WGS.surveyed[5]
    assert select("surveyed", one.isoformat()) == _expected(WGS.surveyed == one)
    assert select("surveyed", one.date().isoformat()) == _expected(WGS.surveyed == one)


def test_part_1_property_filters_read_the_value_as_the_property_type() -> None:
    q = queryables.Queryable
    assert cql2_filter.property_equals(q("levels", "integer"), "3") == {
        "op": "=",
        "args": [{"property": "levels"}, 3.0],
    }
    expressions = [
        cql2_filter.property_equals(q(name, kind), raw)
        for name, kind, raw in [
            ("area_m2", "number", "2500.5"),
            ("public", "boolean", "false"),
            ("land_use", "string", "3"),
            ("surveyed", "date-time", "2020-03-05"),
            ("surveyed", "date-time", "2020-03-05T12:00:00Z"),
        ]
    ]
    assert [e["args"][1] for e in expressions] == [
        2500.5,
        False,
        "3",
        {"date": "2020-03-05"},
        {"timestamp": "2020-03-05T12:00:00Z"},
    ]


@pytest.mark.parametrize(
    ("name", "kind", "raw", "reason"),
    [
        ("levels", "integer", "many", "levels holds integer values; 'many' is not a number"),
        ("area_m2", "number", "", "area_m2 holds number values; '' is not a number"),
        ("public", "boolean", "yes", "public holds boolean values: true or false, not 'yes'"),
        (
            "surveyed",
            "date-time",
            "yesterday",
            "surveyed 'yesterday' is not an RFC 3339 date-time (e.g. 2026-11-23T12:00:00Z) or date",
        ),
        ("surveyed", "date-time", "2020-03-05T25:00:00Z", "surveyed '2020-03-05T25:00:00Z'"),
    ],
)
def test_part_1_property_filters_refuse_a_value_of_another_type(
    name: str, kind: queryables.JsonType, raw: str, reason: str
) -> None:
    with pytest.raises(FilterError) as refused:
        cql2_filter.property_equals(queryables.Queryable(name, kind), raw)
    assert str(refused.value).startswith(reason)


@pytest.mark.parametrize(
    ("raw", "condition"),
    [
        ("2020-03-05T00:00:00Z", lambda s: s == _at("2020-03-05")),
        (
            "2020-03-01/2020-03-31T12:00:00Z",
            lambda s: s.between(_at("2020-03-01"), _at("2020-03-31T12:00")),
        ),
        ("../2020-01-10", lambda s: s <= _at("2020-01-10")),
        ("/2020-01-10", lambda s: s <= _at("2020-01-10")),
        ("2020-12-01/..", lambda s: s >= _at("2020-12-01")),
        ("2020-12-01/", lambda s: s >= _at("2020-12-01")),
    ],
)
def test_the_datetime_parameter(
    lots: Lots, raw: str, condition: Callable[[pd.Series], object]
) -> None:
    expression = cql2_filter.datetime_filter(lots.queryables["surveyed"], raw)
    assert _select(lots, expression) == _expected(condition(WGS.surveyed))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../..", "datetime interval must have at least one closed end, not '../..'"),
        ("/", "datetime interval must have at least one closed end, not '../..'"),
        ("2020-13-01/..", "datetime '2020-13-01' is not an RFC 3339 date-time"),
        ("../yesterday", "datetime 'yesterday' is not an RFC 3339 date-time"),
        ("yesterday", "datetime 'yesterday' is not an RFC 3339 date-time"),
        ("2020-03-05 12:00", "datetime '2020-03-05 12:00' is not an RFC 3339 date-time"),
        ("2020-01-01/2020-02-01/..", "datetime '2020-02-01/..' is not an RFC 3339 date-time"),
    ],
)
def test_the_datetime_parameter_refuses(raw: str, reason: str) -> None:
    with pytest.raises(FilterError) as refused:
        cql2_filter.datetime_filter(queryables.Queryable("surveyed", "date-time"), raw)
    assert str(refused.value).startswith(reason)


def test_all_of_joins_conditions_with_and() -> None:
    a, b = {"op": "isNull", "args": [{"property": "owner"}]}, True
    assert cql2_filter.all_of([a]) is a
    assert cql2_filter.all_of([a, b]) == {"op": "and", "args": [a, b]}


def test_filter_languages_and_the_drafts_names() -> None:
    text = cql2_parse.parse("levels > 3")
    assert text == {"op": ">", "args": [{"property": "levels"}, 3.0]}
    assert cql2_parse.parse("levels > 3", "cql-text") == text
    assert cql2_parse.parse(json.dumps(text), "cql2-json") == text
    assert cql2_parse.parse(json.dumps(text), "cql-json") == text
    with pytest.raises(FilterError, match=r"^filter-lang 'ecql' is not supported; use one of"):
        cql2_parse.parse("levels > 3", "ecql")
    with pytest.raises(FilterError, match=r"^filter is not valid cql2-text: "):
        cql2_parse.parse(json.dumps(text))
    with pytest.raises(FilterError, match=r"^filter is not valid cql2-json: "):
        cql2_parse.parse("levels > 3", "cql2-json")


LEVELS = {"property": "levels"}
GEOMETRY = {"property": "geometry"}
REFUSED_TEXT = [
    ("area_m2 = 'big'", 'area_m2 holds number values: = needs a number, got "big"'),
    ("levels = true", "levels holds integer values: = needs a number, got true"),
    ("public = 1", "public holds boolean values: = needs true or false, got 1.0"),
    ("public = 'true'", 'public holds boolean values: = needs true or false, got "true"'),
    (
        "surveyed > '2020-01-01'",
        "surveyed holds date-time values: > needs TIMESTAMP('…') or DATE('…'), got \"2020-01-01\"",
    ),
    (
        "surveyed = 3",
        "surveyed holds date-time values: = needs TIMESTAMP('…') or DATE('…'), got 3.0",
    ),
    (
        "surveyed = DATE('2020-13-01')",
        "surveyed holds date-time values: = needs TIMESTAMP('…') or DATE('…'),"
        ' got {"date": "2020-13-01"}',
    ),
    ("land_use = 3", "land_use holds string values: = needs a 'string', got 3.0"),
    (
        "land_use = DATE('2020-01-01')",
        'land_use holds string values: = needs a \'string\', got {"date": "2020-01-01"}',
    ),
    ("3 < land_use", "land_use holds string values: > needs a 'string', got 3.0"),
    ("levels BETWEEN 1 AND 'x'", 'levels holds integer values: BETWEEN needs a number, got "x"'),
    ("levels IN (1, 'x')", 'levels holds integer values: IN needs a number, got "x"'),
    ("land_use LIKE 3", "LIKE compares a string property with a string pattern (land_use)"),
    ("levels LIKE '1%'", "LIKE compares a string property with a string pattern (levels)"),
    (
        "levels = area_m2",
        '= on levels needs a literal value, got {"property": "area_m2"}'
        " (comparing two properties or expressions is not supported)",
    ),
    (
        "CASEI(land_use) = 'cc'",
        "'=' needs a property on one side and a literal value on the other, got \"cc\""
        " (comparing two properties or expressions is not supported)",
    ),
    (
        "height > 3",
        "unknown queryable 'height'; this collection's are"
        " ['area_m2', 'land_use', 'levels', 'owner', 'public', 'surveyed'] (see its /queryables)",
    ),
    ("geometry = 3", "'=' does not apply to the geometry; use S_INTERSECTS"),
    ("geometry IS NULL", "IS NULL does not apply to the geometry; use S_INTERSECTS"),
    (
        "T_BEFORE(surveyed, DATE('2020-01-01'))",
        "T_BEFORE is not supported: compare a date-time property with =, <, > or BETWEEN instead",
    ),
    ("public", 'expected a condition, got {"property": "public"}'),
    ("NOT public OR S_INTERSECTS(geometry, BBOX(0, 0, 1, 1))", "expected a condition, got"),
    (
        "S_INTERSECTS(levels, BBOX(0, 0, 1, 1))",
        "S_INTERSECTS needs the property 'geometry' and a geometry literal,"
        ' got {"property": "levels"} and {"bbox": [0.0, 0.0, 1.0, 1.0]}',
    ),
    (
        "S_INTERSECTS(geometry, geometry)",
        'expected a geometry or BBOX literal, got {"property": "geometry"}',
    ),
    # half-inverted boxes, in 2D and 3D
    (
        "S_INTERSECTS(geometry, BBOX(1, 0, 0, 1))",
        "BBOX must be given as min, min, max, max: [1.0, 0.0, 0.0, 1.0]",
    ),
    ("S_INTERSECTS(geometry, BBOX(0, 1, 1, 0))", "BBOX must be given as min, min, max, max"),
    ("S_WITHIN(geometry, BBOX(1, 0, 0, 0, 1, 1))", "BBOX must be given as min, min, max, max"),
    ("S_WITHIN(geometry, BBOX(0, 1, 0, 1, 0, 1))", "BBOX must be given as min, min, max, max"),
    (
        "S_INTERSECTS(geometry, POLYGON EMPTY)",
        'empty geometry in the filter: {"type": "Polygon", "coordinates": []}',
    ),
]
REFUSED_JSON = [
    ({"op": "and", "args": []}, "AND needs at least one condition"),
    ({"op": "or", "args": []}, "OR needs at least one condition"),
    ({"op": "not", "args": []}, "NOT needs one argument"),
    ({"op": "=", "args": [LEVELS]}, "= needs two arguments"),
    ({"op": "between", "args": [LEVELS, 1]}, "BETWEEN needs a property, a low and a high value"),
    ({"op": "in", "args": [LEVELS, []]}, "IN needs a non-empty list of values"),
    ({"op": "in", "args": [LEVELS, 3]}, "IN needs a non-empty list of values"),
    ({"op": "isNull", "args": [LEVELS, LEVELS]}, "IS NULL needs one argument"),
    ({"op": "like", "args": [LEVELS]}, "LIKE needs two arguments"),
    ({"op": "in", "args": [LEVELS]}, "IN needs two arguments"),
    ({"op": "like", "args": ["x", "y"]}, "LIKE needs a property on one side and a literal"),
    ({"op": "in", "args": [1, [1]]}, "IN needs a property on one side and a literal value"),
    ({"op": "between", "args": [1, 2, 3]}, "BETWEEN needs a property on one side and a"),
    ({"op": "isNull", "args": [1]}, "IS NULL needs a property on one side and a literal"),
    ({"op": "s_intersects", "args": [GEOMETRY]}, "S_INTERSECTS needs two arguments"),
    (
        {"op": "s_intersects", "args": [GEOMETRY, {"bbox": [0, 0, "a", 1]}]},
        'BBOX needs 4 or 6 numbers, got [0.0, 0.0, "a", 1.0]',
    ),
    (
        {"op": "s_intersects", "args": [GEOMETRY, {"bbox": [0, 0, True, 1]}]},
        "BBOX needs 4 or 6 numbers, got [0.0, 0.0, true, 1.0]",
    ),
    (
        {"op": "s_intersects", "args": [GEOMETRY, {"bbox": [0, 0, 1, 1, 2]}]},
        "BBOX needs 4 or 6 numbers, got [0.0, 0.0, 1.0, 1.0, 2.0]",
    ),
    (
        {"op": "s_intersects", "args": [GEOMETRY, {"type": "Polygon", "coordinates": [[[0, 0]]]}]},
        "not a usable geometry (A linearring requires at least 4 coordinates.):"
        ' {"type": "Polygon", "coordinates": [[[0.0, 0.0]]]}',
    ),
    (
        {"op": "=", "args": [LEVELS, {"op": "+", "args": [1, 2]}]},
        '= on levels needs a literal value, got {"op": "+", "args": [1.0, 2.0]}',
    ),
    (
        {"op": "=", "args": [{"property": "surveyed"}, {"timestamp": 5}]},
        "surveyed holds date-time values: = needs TIMESTAMP('…') or DATE('…'),"
        ' got {"timestamp": 5.0}',
    ),
    (
        {"op": "=", "args": [{"property": "surveyed"}, {"date": "2020-01-01T00:00:00Z"}]},
        "surveyed holds date-time values: = needs TIMESTAMP('…') or DATE('…'),",
    ),
    ({"op": "foo", "args": [LEVELS]}, "operator or function 'foo' is not supported"),
    ({"op": "a_contains", "args": [LEVELS, [1]]}, "A_CONTAINS is not supported"),
]


@pytest.mark.parametrize(
    ("expression", "reason"),
    [(cql2_parse.parse(text), reason) for text, reason in REFUSED_TEXT] + REFUSED_JSON,
    ids=[text[:60] for text, _ in REFUSED_TEXT] + [json.dumps(e)[:60] for e, _ in REFUSED_JSON],
)
def test_every_refusal_is_a_filter_error_with_its_reason(expression: Any, reason: str) -> None:
    expression = cql2_parse.parse(json.dumps(expression), "cql2-json")  # as the API gets it
    with pytest.raises(FilterError) as refused:
        cql2_filter.compile_filter(expression, QUERYABLES, _same)
    assert str(refused.value).startswith(reason)


@pytest.mark.parametrize(
    ("length", "shown"),
    [(78, '"' + "x" * 78 + '"'), (79, '"' + "x" * 76 + "...")],  # 80 characters at most
)
def test_a_long_literal_is_shortened_in_the_reason(length: int, shown: str) -> None:
    expression = cql2_parse.parse("levels = '" + "x" * length + "'")
    with pytest.raises(FilterError) as refused:
        cql2_filter.compile_filter(expression, QUERYABLES, _same)
    prefix = "levels holds integer values: = needs a number, got "
    assert str(refused.value) == prefix + shown


def test_only_spatial_predicates_need_shapely_and_they_narrow_by_the_bbox_index() -> None:
    def compiled(text: str) -> cql2_filter.CompiledFilter:
        return cql2_filter.compile_filter(cql2_parse.parse(text), QUERYABLES, _same)

    exact = compiled("NOT (levels > 3) AND owner IS NULL")
    assert exact.spatial is False and exact.columns == []
    assert exact.where.as_string(None).startswith(
        "((NOT (properties ->> 'levels')::float8 > 3.0) AND"
    )
    with pytest.raises(AssertionError, match="^an exact SQL filter needs no evaluation$"):
        exact.matches(cql2_filter.Candidates(np.zeros((1, 0)), np.array([INSIDE])))
    spatial = compiled(f"levels > 3 AND S_INTERSECTS(geometry, {BBOX}) OR owner IS NULL")
    assert spatial.spatial and len(spatial.columns) == 2
    x0, y0, x1, y1 = BOX
    assert spatial.where.as_string(None) == (
        "(((properties ->> 'levels')::float8 > 3.0 AND bbox && '"
        f"(({x0},{y0}),({x1},{y1}))'::box) OR"
        " (properties -> 'owner' IS NULL OR properties -> 'owner' = 'null'::jsonb))"
    )
    # a disjoint or negated predicate is met far from the literal: no narrowing
    assert compiled(f"S_DISJOINT(geometry, {BBOX})").where.as_string(None) == "TRUE"
    assert compiled(f"NOT S_INTERSECTS(geometry, {BBOX})").where.as_string(None) == "TRUE"
