"""OGC API - Features Part 3 (CQL2 filters), property filters and ``datetime``.

Every filter's result is checked against the same condition evaluated independently
here, with pandas and shapely on the layer as generated, not against fixed id lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from tests.api.lots import WGS, N, lots_client  # noqa: F401  (fixture)

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# A quadrilateral over part of the lots, in CRS84, and a bbox over another part.
AREA = shapely.Polygon(
    [(24.8620, 43.7510), (24.8660, 43.7505), (24.8665, 43.7530), (24.8625, 43.7535)]
)
BOX = (24.8600, 43.7520, 24.8640, 43.7540)


@pytest.fixture
def client(lots_client: TestClient) -> TestClient:  # noqa: F811
    return lots_client


def _ids(client: TestClient, **params: str) -> list[int]:
    """Every matching feature id, following ``next`` links; checks numberMatched."""
    response = client.get("/collections/lots/items", params={"limit": "50", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    matched, ids = body["numberMatched"], [f["id"] for f in body["features"]]
    while nxt := next((x["href"] for x in body["links"] if x["rel"] == "next"), None):
        body = client.get(nxt).json()
        ids += [f["id"] for f in body["features"]]
    assert matched == len(ids)
    return ids


def _expected(mask: pd.Series | np.ndarray) -> list[int]:
    return [i + 1 for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


def _ring(polygon: shapely.Polygon) -> str:
    return ", ".join(f"{x} {y}" for x, y in polygon.exterior.coords)


CASES: list[tuple[str, Callable[[gpd.GeoDataFrame], object]]] = [
    ("land_use = 'CC'", lambda f: f.land_use == "CC"),
    ("levels > 3 AND levels <= 7", lambda f: (f.levels > 3) & (f.levels <= 7)),
    # AND binds tighter than OR (a left-to-right parser gets this wrong)
    (
        "levels < 2 OR levels > 7 AND land_use = 'IS'",
        lambda f: (f.levels < 2) | ((f.levels > 7) & (f.land_use == "IS")),
    ),
    ("NOT (land_use LIKE 'CC%')", lambda f: ~f.land_use.str.startswith("CC")),
    ("area_m2 BETWEEN 1000 AND 2500.5", lambda f: f.area_m2.between(1000, 2500.5)),
    ("land_use IN ('L', 'IS')", lambda f: f.land_use.isin(["L", "IS"])),
    ("owner IS NULL", lambda f: f.owner.isna()),
    ("owner IS NOT NULL AND owner <> 'city'", lambda f: f.owner.notna() & (f.owner != "city")),
    # a comparison with a null attribute is unknown, and so is its negation
    ("NOT (owner = 'city')", lambda f: f.owner.notna() & (f.owner != "city")),
    ("public = true", lambda f: f.public),
    (
        "surveyed >= TIMESTAMP('2020-07-01T00:00:00Z')",
        lambda f: f.surveyed >= pd.Timestamp("2020-07-01", tz="UTC"),
    ),
    (f"S_INTERSECTS(geometry, POLYGON(({_ring(AREA)})))", lambda f: f.intersects(AREA)),
    (f"S_WITHIN(geometry, POLYGON(({_ring(AREA)})))", lambda f: f.within(AREA)),
    (f"S_CONTAINS(POLYGON(({_ring(AREA)})), geometry)", lambda f: f.within(AREA)),
    (
        f"S_INTERSECTS(geometry, BBOX({', '.join(map(str, BOX))})) OR levels = 0",
        lambda f: f.intersects(shapely.box(*BOX)) | (f.levels == 0),
    ),
    (
        f"NOT S_INTERSECTS(geometry, POLYGON(({_ring(AREA)}))) AND levels > 5",
        lambda f: ~f.intersects(AREA) & (f.levels > 5),
    ),
    # unknown inside the exact (shapely) evaluation stays unknown under NOT
    (
        f"NOT (S_INTERSECTS(geometry, BBOX({', '.join(map(str, BOX))})) OR owner = 'state')",
        lambda f: ~f.intersects(shapely.box(*BOX)) & f.owner.notna() & (f.owner != "state"),
    ),
    (
        f"S_DISJOINT(geometry, BBOX({', '.join(map(str, BOX))})) AND NOT (owner = 'state')",
        lambda f: f.disjoint(shapely.box(*BOX)) & f.owner.notna() & (f.owner != "state"),
    ),
]


@pytest.mark.parametrize(("text", "condition"), CASES, ids=[c[0][:50] for c in CASES])
def test_cql2_text_selects_what_the_condition_selects(
    client: TestClient, text: str, condition: Callable[[gpd.GeoDataFrame], object]
) -> None:
    expected = _expected(condition(WGS))  # type: ignore[arg-type]
    assert 0 < len(expected) < N, "a case that selects nothing or everything proves little"
    assert _ids(client, filter=text) == expected


def test_cql2_json_and_bbox_combine_with_the_filter(client: TestClient) -> None:
    expression = {
        "op": "and",
        "args": [
            {"op": ">", "args": [{"property": "levels"}, 4]},
            {
                "op": "s_intersects",
                "args": [{"property": "geometry"}, json.loads(shapely.to_geojson(AREA))],
            },
        ],
    }
    near = (24.8610, 43.7500, 24.8650, 43.7525)
    expected = _expected(
        (WGS.levels > 4) & WGS.intersects(AREA) & WGS.intersects(shapely.box(*near))
    )
    assert expected
    got = _ids(
        client,
        filter=json.dumps(expression),
        **{"filter-lang": "cql2-json", "bbox": ",".join(map(str, near))},
    )
    assert got == expected


def test_bbox_selects_features_whose_geometry_meets_it(client: TestClient) -> None:
    """Part 1: the geometry must intersect the bbox, not just its bounding box. Small
    boxes around the layer (20-40 m) catch the corners of the rotated lots' boxes."""
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = WGS.total_bounds
    differs = 0
    for _ in range(40):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        w, h = rng.uniform(0.0002, 0.0005, 2)
        window = shapely.box(x, y, x + w, y + h)
        bounds = WGS.bounds
        by_box = (
            (bounds.minx <= x + w)
            & (bounds.maxx >= x)
            & (bounds.miny <= y + h)
            & (bounds.maxy >= y)
        )
        differs += int(by_box.sum() != WGS.intersects(window).sum())
        got = _ids(client, bbox=f"{x},{y},{x + w},{y + h}")
        assert got == _expected(WGS.intersects(window))
    assert differs, "no box told the two rules apart: the test proves nothing"


def test_filter_geometry_in_stereo_70(client: TestClient) -> None:
    """``filter-crs``: the polygon in EPSG:3844, northing first as the registry orders it."""
    to_3844 = Transformer.from_crs("OGC:CRS84", "EPSG:3844")  # gives northing, easting
    northing_easting = [to_3844.transform(x, y) for x, y in AREA.exterior.coords]
    ring = ", ".join(f"{n} {e}" for n, e in northing_easting)
    stereo = _ids(
        client, filter=f"S_INTERSECTS(geometry, POLYGON(({ring})))", **{"filter-crs": f"{EPSG}3844"}
    )
    assert stereo == _expected(WGS.intersects(AREA))


def test_a_filter_geometry_beyond_its_crs_is_cut_to_where_the_crs_holds(
    client: TestClient,
) -> None:
    """An EPSG:3857 box of ±1e300 m covers the world, not a sliver at longitude -180 (the
    probe's box, which projected onto the antimeridian): every lot meets it."""
    world = "S_INTERSECTS(geometry, BBOX(-1e300, -1e300, 1e300, 1e300))"
    assert _ids(client, filter=world, **{"filter-crs": "EPSG:3857"}) == list(range(1, N + 1))


def test_property_filters_and_datetime(client: TestClient) -> None:
    assert _ids(client, land_use="CC", levels="3") == _expected(
        (WGS.land_use == "CC") & (WGS.levels == 3)
    )
    assert _ids(client, public="false", owner="city") == _expected(
        ~WGS.public & (WGS.owner == "city")
    )
    start, end = pd.Timestamp("2020-03-01", tz="UTC"), pd.Timestamp("2020-03-31T12:00:00Z")
    assert _ids(client, datetime="2020-03-01T00:00:00Z/2020-03-31T12:00:00Z") == _expected(
        WGS.surveyed.between(start, end)
    )
    assert _ids(client, datetime="../2020-01-10T00:00:00Z") == _expected(
        WGS.surveyed <= pd.Timestamp("2020-01-10", tz="UTC")
    )
    one = WGS.surveyed.iloc[5]
    assert _ids(client, datetime=one.isoformat()) == _expected(WGS.surveyed == one)


def test_part_1_property_filters_on_numbers_booleans_and_date_times(client: TestClient) -> None:
    area = WGS.area_m2.iloc[7]
    assert _ids(client, area_m2=str(area)) == _expected(WGS.area_m2 == area)
    assert _ids(client, public="true") == _expected(WGS.public)
    one = WGS.surveyed.iloc[5]
    assert _ids(client, surveyed=one.isoformat()) == _expected(WGS.surveyed == one)
    assert _ids(client, surveyed=one.date().isoformat()) == _expected(WGS.surveyed == one)


def test_the_drafts_filter_language_name_gdal_sends(client: TestClient) -> None:
    """GDAL's OAPIF driver sends ``filter-lang=cql-text``: read as cql2-text."""
    assert _ids(client, filter="levels >= 7", **{"filter-lang": "cql-text"}) == _expected(
        WGS.levels >= 7
    )


def test_queryables_document(client: TestClient) -> None:
    doc = client.get("/collections/lots").json()
    href = next(x["href"] for x in doc["links"] if x["rel"].endswith("/queryables"))
    response = client.get(href)
    assert response.headers["content-type"] == "application/schema+json"
    props = response.json()["properties"]
    assert props["geometry"]["x-ogc-role"] == "primary-geometry"
    assert props["levels"]["type"] == "integer" and props["area_m2"]["type"] == "number"
    assert props["public"]["type"] == "boolean" and props["land_use"]["type"] == "string"
    assert props["surveyed"]["format"] == "date-time"
    assert props["surveyed"]["x-ogc-role"] == "primary-instant"
    conformance = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter" in conformance
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conformance


def _json(expression: object) -> dict[str, str]:
    """The parameters of a cql2-json filter (``\\u0000`` stays JSON's escape)."""
    return {"filter": json.dumps(expression), "filter-lang": "cql2-json"}


def _bbox_filter(box: object) -> dict[str, object]:
    return {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": box}]}


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"filter": "levels = = 3"}, "not valid cql2-text"),
        ({"filter": "height > 3"}, "unknown queryable 'height'"),
        ({"filter": "levels = 'three'"}, "levels holds integer values"),
        ({"filter": "land_use LIKE 3"}, "LIKE compares a string"),
        ({"filter": "levels = area_m2"}, "comparing two properties"),
        (
            {"filter": "T_INTERSECTS(surveyed, INTERVAL('2020-01-01', '..'))"},
            "T_INTERSECTS is not supported",
        ),
        ({"filter": "S_INTERSECTS(levels, BBOX(0, 0, 1, 1))"}, "needs the property 'geometry'"),
        ({"filter": "S_INTERSECTS(geometry, BBOX(1, 1, 0, 0))"}, "min, min, max, max"),
        ({"filter": "levels > 3", "filter-lang": "ecql"}, "Input should be 'cql2-text'"),
        ({"filter": '{"op": 1}', "filter-lang": "cql2-json"}, "not valid cql2-json"),
        ({"filter": "levels > 3", "filter-crs": "EPSG:9999"}, "filter-crs"),
        ({"levels": "many"}, "levels holds integer values"),
        ({"public": "yes"}, "public holds boolean values"),
        ({"datetime": "yesterday"}, "not an RFC 3339"),
        ({"datetime": "../.."}, "at least one closed end"),
        # found by the probe (issue 13): each was a 500
        (_json({"op": "=", "args": [{"property": "land_use"}, "C\u0000C"]}), "NUL"),
        (_json({"op": "like", "args": [{"property": "land_use"}, "C\u0000%"]}), "NUL"),
        (_json({"op": "in", "args": [{"property": "land_use"}, ["L", "\u0000"]]}), "NUL"),
        ({"filter": "S_INTERSECTS(geometry, BBOX('a', 'b', 'c', 'd'))"}, "BBOX needs 4 or 6"),
        ({"filter": "S_INTERSECTS(geometry, BBOX(x, 0, 1, 1))"}, "BBOX needs 4 or 6"),
        (_json(_bbox_filter(["0", 0, 1, 1])), "BBOX needs 4 or 6 numbers"),
        (_json(_bbox_filter([True, 0, 1, 1])), "BBOX needs 4 or 6 numbers"),
        (_json(_bbox_filter([0, 0, 1])), "BBOX needs 4 or 6 numbers"),
        (_json(_bbox_filter("0,0,1,1")), "not valid cql2-json"),
        ({"filter": "S_INTERSECTS(geometry, BBOX(-1e999, -1e999, 1e999, 1e999))"}, "finite"),
        (
            {
                "filter": "S_INTERSECTS(geometry, BBOX(1e300, 1e300, 2e300, 2e300))",
                "filter-crs": "EPSG:3857",
            },
            "outside the area",
        ),
    ],
)
def test_bad_filters_are_refused_with_the_reason(
    client: TestClient, params: dict[str, str], says: str
) -> None:
    response = client.get("/collections/lots/items", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]
