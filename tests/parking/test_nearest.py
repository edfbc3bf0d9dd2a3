"""The nearest lots by street on small hand-made networks, distances worked out by hand
(and, on a grid, by a plain Dijkstra over the grid written here), never by the code
under test; the network built from a street layer imported into real PostgreSQL."""

from __future__ import annotations

import heapq
import itertools
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
from pyproj import CRS, Geod, Transformer
from shapely.geometry import LineString, MultiLineString, Point

from gis_layers.importer import import_file
from parking.nearest import (
    Built,
    Lot,
    NetworkUnusable,
    OriginTooFar,
    StreetGraphs,
    build,
    nearest,
    version,
)
from parking.street_graph import StreetGraph, StreetGraphError
from storage import migrations

STEREO70 = CRS.from_epsg(3844)
X0, Y0 = 489_700.0, 250_200.0  # Turnu Măgurele in Stereo 70
TO_WGS84 = Transformer.from_crs(STEREO70, "OGC:CRS84", always_xy=True)
TO_STEREO70 = Transformer.from_crs("OGC:CRS84", STEREO70, always_xy=True)


def at(x: float, y: float) -> Point:
    """A point ``x`` m east and ``y`` m north of the town centre."""
    return Point(X0 + x, Y0 + y)


def line(*coords: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in coords])


def local(geometry: LineString) -> list[tuple[float, float]]:
    """A line's coordinates relative to the town centre."""
    return [(round(x - X0, 2), round(y - Y0, 2)) for x, y in geometry.coords]


# The town of the tests, metres from the centre:
#
#                       (100,150)
#                           |
#   (0,100) ----------------+---------------- (200,100)
#     |                     |                     |
#     |                 (100,50)               (200,50) .3 m gap (200.3,50) ---- (300,50)
#     |                                           |
#   (0,0) ----------------------------------- (200,0)          island (500,0) - (600,0)
#
# The cross street (100,50)-(100,150) crosses the top street where neither has a vertex;
# the east spur starts 0.3 m short of the east street; the island touches nothing.
STREETS = [
    line((0, 0), (200, 0)),
    line((0, 0), (0, 100)),
    line((200, 0), (200, 100)),
    line((0, 100), (200, 100)),
    line((100, 50), (100, 150)),
    line((200.3, 50), (300, 50)),
    line((500, 0), (600, 0)),
]
ORIGIN = at(50, 10)  # 10 m north of the bottom street, 50 m along it


@pytest.fixture(scope="module")
def graph() -> StreetGraph:
    return StreetGraph(STREETS, STEREO70)


def test_the_streets_are_noded_where_they_cross_and_where_an_end_nearly_meets(
    graph: StreetGraph,
) -> None:
    nodes = {(round(x - X0, 2), round(y - Y0, 2)) for x, y in graph.nodes}
    assert (100.0, 100.0) in nodes  # the crossing
    assert (200.0, 50.0) in nodes  # where the spur is joined
    assert (100.0, 0.0) not in nodes  # nothing meets the bottom street there


def test_a_point_snaps_to_the_nearest_street_with_its_partial_lengths(graph: StreetGraph) -> None:
    (snap,) = graph.snap([ORIGIN])
    assert snap.offset == pytest.approx(10.0)
    edge = graph.edges[snap.edge]
    assert {local(edge)[0], local(edge)[-1]} == {(0.0, 0.0), (200.0, 0.0)}
    start = local(edge)[0]
    assert snap.along == pytest.approx(50.0 if start == (0.0, 0.0) else 150.0)


def test_distances_along_the_streets_as_worked_out_by_hand(graph: StreetGraph) -> None:
    origin, *targets = graph.snap([ORIGIN, at(150, -20), at(280, 55), at(100, 160)])
    search = graph.search(origin)  # one search, every target read off it
    same_street, spur, cross = (search.route(t) for t in targets)
    assert same_street is not None and spur is not None and cross is not None
    # along the bottom street, from 50 m to 150 m
    assert same_street.network_m == pytest.approx(100.0)
    # east 150 m along the bottom, 50 m up the east street, the 0.3 m join, 79.7 m along
    # the spur
    assert spur.network_m == pytest.approx(150 + 50 + 0.3 + 79.7)
    # west 50 m, up 100 m, east 100 m to the crossing, north 50 m to the cross street's end
    # (the other way round, by the east street, is 150 + 100 + 100 + 50 = 400 m)
    assert cross.network_m == pytest.approx(50 + 100 + 100 + 50)
    assert local(cross.line) == [
        (50.0, 10.0),
        (50.0, 0.0),
        (0.0, 0.0),
        (0.0, 100.0),
        (100.0, 100.0),
        (100.0, 150.0),
        (100.0, 160.0),
    ]
    assert local(same_street.line) == [(50.0, 10.0), (50.0, 0.0), (150.0, 0.0), (150.0, -20.0)]


def test_a_lot_on_another_component_is_unreachable(graph: StreetGraph) -> None:
    origin, island = graph.snap([ORIGIN, at(550, 10)])
    search = graph.search(origin)
    assert search.route(island) is None and search.network_m(island) == float("inf")


def test_a_loop_street_is_left_by_its_shorter_side() -> None:
    ring = line((0, 0), (100, 0), (100, 100), (0, 100), (0, 0))
    spur = line((0, 0), (-50, 0))
    graph = StreetGraph([ring, spur], STEREO70)
    # on the top side, 20 m from its west end: 120 m to the corner by the west side
    # (280 m the other way round), then 40 m along the spur
    origin, lot = graph.snap([at(20, 105), at(-40, 5)])
    route = graph.search(origin).route(lot)
    assert route is not None
    assert route.network_m == pytest.approx(20 + 100 + 40)
    assert local(route.line) == [
        (20.0, 105.0),
        (20.0, 100.0),
        (0.0, 100.0),
        (0.0, 0.0),
        (-40.0, 0.0),
        (-40.0, 5.0),
    ]
    # from the bottom side, 80 m east of the corner: back west 80 m (not 320 m round)
    origin, lot = graph.snap([at(80, -5), at(-40, 5)])
    route = graph.search(origin).route(lot)
    assert route is not None and route.network_m == pytest.approx(80 + 40)


def test_streets_in_degrees_are_refused_with_the_remedy() -> None:
    with pytest.raises(StreetGraphError, match="re-import the layer in the town's metric CRS"):
        StreetGraph([LineString([(24.8, 43.7), (24.9, 43.7)])], CRS.from_user_input("OGC:CRS84"))


# --- the search's answer ---------------------------------------------------------------


def lot(lot_id: str, point: Point, free: int | None, capacity: int | None = 50) -> Lot:
    lon, lat = TO_WGS84.transform(point.x, point.y)
    return Lot(lot_id, lot_id.title(), lon, lat, free, capacity)


def lonlat(point: Point) -> tuple[float, float]:
    lon, lat = TO_WGS84.transform(point.x, point.y)
    return float(lon), float(lat)


def network(graph: StreetGraph | None) -> Built:
    return Built.of(None, graph)


LOTS = [
    lot("lot-cross", at(100, 160), free=12),
    lot("lot-spur", at(280, 55), free=3),
    lot("lot-bottom", at(150, -20), free=1),
    lot("lot-island", at(550, 10), free=40),
    lot("lot-unknown", at(60, -10), free=None, capacity=None),
]


def test_the_answer_ranks_the_lots_with_enough_free_places_by_their_whole_way(
    graph: StreetGraph,
) -> None:
    answer = nearest(lonlat(ORIGIN), LOTS, network(graph), min_free=1, limit=5)
    assert answer["method"] == "network"
    assert answer["origin"]["snap_m"] == 10.0
    assert [f["id"] for f in answer["features"]] == ["lot-bottom", "lot-spur", "lot-cross"]
    # the origin's 10 m to the street + along the streets + the street to the lot
    distances = [f["properties"]["distance_m"] for f in answer["features"]]
    assert distances == pytest.approx([10 + 100 + 20, 10 + 280 + 5, 10 + 300 + 10], abs=0.06)
    assert answer["unreachable"] == ["lot-island"]  # lot-unknown: its free places unknown
    assert answer["numberMatched"] == answer["numberReturned"] == 3
    cross = answer["features"][2]
    assert cross["properties"]["network_m"] == pytest.approx(300.0, abs=0.06)
    assert cross["properties"]["lot_snap_m"] == pytest.approx(10.0, abs=0.06)
    lons, lats = np.array(cross["geometry"]["coordinates"]).T
    xs, ys = TO_STEREO70.transform(lons, lats)
    way = LineString(np.column_stack([xs, ys]))
    assert way.length == pytest.approx(320.0, abs=0.1)  # the line is the way measured
    assert local(way)[0] == pytest.approx((50.0, 10.0), abs=0.02)
    assert local(way)[-1] == pytest.approx((100.0, 160.0), abs=0.02)


def test_min_free_and_limit_select_and_cut(graph: StreetGraph) -> None:
    answer = nearest(lonlat(ORIGIN), LOTS, network(graph), min_free=3, limit=1)
    assert [f["id"] for f in answer["features"]] == ["lot-spur"]
    assert answer["numberMatched"] == 2 and answer["numberReturned"] == 1
    everything = nearest(lonlat(ORIGIN), LOTS, network(graph), min_free=0, limit=50)
    assert [f["id"] for f in everything["features"]][0] == "lot-unknown"  # 10 + 10 + 10 m
    assert everything["features"][0]["properties"]["free"] is None


def test_lots_as_far_as_each_other_are_ranked_by_id() -> None:
    graph = StreetGraph([line((0, 0), (200, 0))], STEREO70)
    lots = [lot("lot-z", at(180, -5), free=5), lot("lot-a", at(20, -5), free=5)]
    answer = nearest(lonlat(at(100, 10)), lots, network(graph), min_free=1)
    assert [f["id"] for f in answer["features"]] == ["lot-a", "lot-z"]
    assert [f["properties"]["distance_m"] for f in answer["features"]] == pytest.approx(
        [95.0, 95.0], abs=0.06
    )


def test_an_origin_far_from_every_street_is_refused(graph: StreetGraph) -> None:
    with pytest.raises(OriginTooFar, match="from the nearest street"):
        nearest(lonlat(at(50_000, 0)), LOTS, network(graph))


def test_without_a_network_the_distances_are_straight_lines_and_said_so() -> None:
    answer = nearest(lonlat(ORIGIN), LOTS, network(None), min_free=1)
    assert answer["method"] == "straight-line" and answer["network"] is None
    # Stereo 70's scale error near its centre is far below a metre over these distances
    expected = {
        "lot-bottom": ORIGIN.distance(at(150, -20)),
        "lot-spur": ORIGIN.distance(at(280, 55)),
        "lot-cross": ORIGIN.distance(at(100, 160)),
        "lot-island": ORIGIN.distance(at(550, 10)),
    }
    found = {f["id"]: f["properties"]["distance_m"] for f in answer["features"]}
    assert found == pytest.approx(expected, abs=0.5)
    assert [f["id"] for f in answer["features"]][:2] == ["lot-bottom", "lot-cross"]
    with pytest.raises(OriginTooFar, match="from the nearest lot"):
        nearest(lonlat(at(50_000, 0)), LOTS, network(None))


# --- a grid against a plain Dijkstra ---------------------------------------------------

GRID = 5
SPACING = 100.0
MISSING = {((1, 1), (2, 1)), ((3, 2), (3, 3))}
"""Two block sides without a street."""


def _grid_links() -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The streets between neighbouring junctions of a 5 x 5 grid, 100 m apart."""
    links = []
    for i, j in itertools.product(range(GRID), range(GRID)):
        if i + 1 < GRID:
            links.append(((i, j), (i + 1, j)))
        if j + 1 < GRID:
            links.append(((i, j), (i, j + 1)))
    return [link for link in links if link not in MISSING]


def grid_streets() -> list[LineString]:
    """The grid drawn as long lines, each running as far as its streets go (so the graph
    must node them at every junction)."""
    lines = []
    for k in range(GRID):
        for along in ("x", "y"):
            run: list[tuple[float, float]] = []
            for m in range(GRID):
                node = (m, k) if along == "x" else (k, m)
                step = (node, (m + 1, k) if along == "x" else (k, m + 1))
                run.append((SPACING * node[0], SPACING * node[1]))
                if step not in _grid_links():
                    if len(run) > 1:
                        lines.append(line(*run))
                    run = []
    return lines


def plain_dijkstra(sources: dict[tuple[int, int], float]) -> dict[tuple[int, int], float]:
    """Distances from the sources (junction: starting distance) over the grid."""
    neighbours: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for a, b in _grid_links():
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    done: dict[tuple[int, int], float] = {}
    queue = [(d, node) for node, d in sources.items()]
    heapq.heapify(queue)
    while queue:
        d, node = heapq.heappop(queue)
        if node in done:
            continue
        done[node] = d
        for other in neighbours[node]:
            if other not in done:
                heapq.heappush(queue, (d + SPACING, other))
    return done


def test_a_grid_agrees_with_a_plain_dijkstra() -> None:
    streets = grid_streets()
    assert len(streets) < len(_grid_links())  # long lines, crossing without vertices
    graph = StreetGraph(streets, STEREO70)
    assert len(graph.edges) == len(_grid_links())
    rng = np.random.default_rng(3)
    for _ in range(40):
        # points on random streets, at random distances along them
        links = _grid_links()
        (a1, b1), (a2, b2) = (links[k] for k in rng.choice(len(links), 2))
        t1, t2 = rng.uniform(0.05, 0.95, 2).round(2)
        p = SPACING * ((1 - t1) * np.array(a1) + t1 * np.array(b1))
        q = SPACING * ((1 - t2) * np.array(a2) + t2 * np.array(b2))
        # each point enters the grid at either end of its street, t of the way along it
        from_p = plain_dijkstra({a1: t1 * SPACING, b1: (1 - t1) * SPACING})
        expected = min(from_p[a2] + t2 * SPACING, from_p[b2] + (1 - t2) * SPACING)
        if (a1, b1) == (a2, b2):
            expected = min(expected, abs(t1 - t2) * SPACING)
        origin, target = graph.snap([at(*p), at(*q)])
        route = graph.search(origin).route(target)
        assert route is not None
        assert route.network_m == pytest.approx(expected, abs=0.02), (p, q)
        assert route.line.length == pytest.approx(expected, abs=0.02)


# --- the answer's document, figure by figure ---------------------------------------------

IMPORTED = datetime(2026, 5, 4, 8, tzinfo=UTC)
SAME = Transformer.from_crs(STEREO70, STEREO70, always_xy=True)


def flat(graph: StreetGraph) -> Built:
    """The network with its own CRS standing for CRS84: every distance is exact."""
    return Built(IMPORTED, graph, SAME, SAME)


def test_the_answer_document_field_by_field() -> None:
    graph = StreetGraph([line((0, 0), (200, 0))], STEREO70)
    origin = (X0 + 50, Y0 + 10.26)
    lots = [Lot("lot-a", "Parcarea A", X0 + 150.21, Y0 - 20.37, 4, 30)]
    answer = nearest(origin, lots, flat(graph), min_free=1, limit=5)
    features = answer.pop("features")
    assert answer == {
        "type": "FeatureCollection",
        "method": "network",
        "origin": {"lon": X0 + 50, "lat": Y0 + 10.26, "snap_m": 10.3},
        "min_free": 1,
        "network": {
            "layer": "streets",
            "imported_at": "2026-05-04T08:00:00+00:00",
            "nodes": 2,
            "edges": 1,
            "directed": False,
        },
        "unreachable": [],
        "numberMatched": 1,
        "numberReturned": 1,
    }
    [feature] = features
    coordinates = feature["geometry"].pop("coordinates")
    assert feature == {
        "type": "Feature",
        "id": "lot-a",
        "geometry": {"type": "LineString"},
        "properties": {
            "lot_id": "lot-a",
            "name": "Parcarea A",
            "free": 4,
            "capacity": 30,
            "lot": [X0 + 150.21, Y0 - 20.37],
            # 10.26 to the street + 100.21 along it + 20.37 to the lot
            "distance_m": 130.8,
            "network_m": 100.2,
            "lot_snap_m": 20.4,
        },
    }
    assert local(LineString(coordinates)) == [(50, 10.26), (50, 0), (150.21, 0), (150.21, -20.37)]


def test_built_without_a_network_keeps_its_version() -> None:
    graph = StreetGraph([line((0, 0), (200, 0))], STEREO70)
    assert Built.of(IMPORTED, graph).version == IMPORTED
    assert Built.of(IMPORTED, None) == Built(IMPORTED, None, None, None)
    answer = nearest(lonlat(at(20, 0)), [lot("lot-a", at(20, 0), 1)], Built.of(None, graph))
    assert answer["network"]["imported_at"] is None


def test_the_way_to_the_lot_counts_in_the_ranking() -> None:
    # lot-a: 50 m along the street and 40 m off it (90 m); lot-b: 80 m along, 1 m off (81 m)
    graph = StreetGraph([line((0, 0), (200, 0))], STEREO70)
    lots = [lot("lot-a", at(50, -40), 5), lot("lot-b", at(80, -1), 5)]
    answer = nearest(lonlat(at(0, 0)), lots, network(graph))
    assert [f["id"] for f in answer["features"]] == ["lot-b", "lot-a"]


def test_lots_are_ranked_by_the_decimetre_then_by_id() -> None:
    graph = StreetGraph([line((0, 0), (200, 0))], STEREO70)
    origin = (X0 + 100, Y0 + 10)

    def ranked(a: float, z: float) -> list[str]:
        # lot-a 80 m along, lot-z 80 m the other way; each ``a`` or ``z`` m off the street
        lots = [Lot("lot-z", "Z", X0 + 180, Y0 - z, 5, 9), Lot("lot-a", "A", X0 + 20, Y0 - a, 5, 9)]
        return [f["id"] for f in nearest(origin, lots, flat(graph))["features"]]

    assert ranked(5.04, 5.0) == ["lot-a", "lot-z"]  # 95.04 and 95.0 m: the same decimetre
    assert ranked(5.4, 5.0) == ["lot-z", "lot-a"]  # 95.4 and 95.0 m: not
    assert ranked(5.0, 5.4) == ["lot-a", "lot-z"]


def test_an_origin_exactly_at_the_limit_of_the_streets_is_served() -> None:
    graph = StreetGraph([line((0, 0), (200, 0))], STEREO70)
    lots = [Lot("lot-a", "A", X0 + 20, Y0 - 5, 5, 9)]
    answer = nearest((X0 + 100, Y0 + 1000), lots, flat(graph))
    assert answer["origin"]["snap_m"] == 1000.0 and answer["numberMatched"] == 1
    with pytest.raises(OriginTooFar):
        nearest((X0 + 100, Y0 + 1000.01), lots, flat(graph))


def test_the_refusals_say_how_far_and_what_to_do(graph: StreetGraph) -> None:
    far = lonlat(at(50_000, 0))
    # the east end of the island street, (600, 0), is the nearest street
    streets = f"the origin ({far[0]:g}, {far[1]:g}) is 49,"
    with pytest.raises(OriginTooFar) as refused:
        nearest(far, LOTS, network(graph))
    assert str(refused.value).startswith(streets)
    assert str(refused.value).endswith(
        " m from the nearest street; give a point within 1,000 m of the town's streets"
    )
    # without a network: the geodesic distance to the nearest lot, lot-island at (550, 10)
    farther = lonlat(at(95_000, 0))
    _, _, m = Geod(ellps="WGS84").inv(farther[0], farther[1], LOTS[3].lon, LOTS[3].lat)
    with pytest.raises(OriginTooFar) as refused:
        nearest(farther, LOTS, network(None))
    assert str(refused.value) == (
        f"the origin ({farther[0]:g}, {farther[1]:g}) is {m / 1000:,.1f} km from the nearest"
        " lot; give a point within 20 km of one"
    )
    assert f"{m / 1000:,.1f}" == "94.4"


def test_the_defaults_and_the_refused_arguments(graph: StreetGraph) -> None:
    # by default: at least one place free, five lots
    lots = [lot(f"lot-{k}", at(20 * k, -5), free=1) for k in range(7)]
    answer = nearest(lonlat(ORIGIN), lots, network(graph))
    assert (answer["min_free"], answer["numberMatched"], answer["numberReturned"]) == (1, 7, 5)
    for min_free, limit in ((-1, 5), (1, 0)):
        with pytest.raises(ValueError, match=r"min_free must be >= 0 and limit >= 1, got"):
            nearest(lonlat(ORIGIN), lots, network(graph), min_free, limit)


def test_a_straight_line_answer_draws_the_line_and_has_no_snap() -> None:
    answer = nearest(lonlat(ORIGIN), LOTS[:1], network(None), min_free=1)
    assert answer["origin"]["snap_m"] == 0.0
    [feature] = answer["features"]
    assert feature["geometry"]["coordinates"] == [
        list(lonlat(ORIGIN)),
        [LOTS[0].lon, LOTS[0].lat],
    ]
    assert (feature["properties"]["network_m"], feature["properties"]["lot_snap_m"]) == (None, None)


# --- the network as the database holds it ------------------------------------------------


def _import(pg_url: str, path: Path, frame: gpd.GeoDataFrame, layer: str = "streets") -> None:
    frame.to_file(path, layer=layer)
    with psycopg.connect(pg_url) as conn:
        import_file(conn, path, name=layer)


def test_the_network_is_built_once_per_import_of_the_street_layer(
    pg_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    graphs = StreetGraphs()
    with psycopg.connect(pg_url) as conn:
        assert version(conn) is None
        none = graphs.built(conn)
    assert none == Built(None, None, None, None)
    assert graphs.memoised(None) is none
    # two streets crossing: noded into four edges
    streets = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[line((0, 0), (200, 0)), line((100, -100), (100, 100))],
        crs="EPSG:3844",
    )
    _import(pg_url, tmp_path / "one.gpkg", streets)
    with psycopg.connect(pg_url) as conn:
        imported = version(conn)
        built = graphs.built(conn)
        assert imported is not None and built.version == imported
        assert graphs.built(conn) is built  # not rebuilt while the layer is the same
    assert built.graph is not None and len(built.graph.edges) == 4
    assert built.graph.crs == STEREO70
    assert graphs.memoised(imported) is built and graphs.memoised(None) is None
    assert built.to_graph is not None and built.to_crs84 is not None
    lon, lat = built.to_crs84.transform(X0, Y0)
    assert built.to_graph.transform(lon, lat) == pytest.approx((X0, Y0), abs=1e-3)
    # 5 m to the first street, 90 m along it, 90 m up the second to the lot
    answer = nearest(lonlat(at(10, 5)), [lot("lot-a", at(100, 90), 3)], built)
    assert answer["features"][0]["properties"]["distance_m"] == pytest.approx(185, abs=0.06)
    # imported again: rebuilt
    _import(pg_url, tmp_path / "two.gpkg", streets.iloc[:1])
    with psycopg.connect(pg_url) as conn:
        again = graphs.built(conn)
    assert again is not built and again.graph is not None and len(again.graph.edges) == 1


def test_a_street_layer_without_lines_gives_straight_lines(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    points = gpd.GeoDataFrame({"name": ["x"]}, geometry=[at(0, 0)], crs="EPSG:3844")
    _import(pg_url, tmp_path / "points.gpkg", points)
    with psycopg.connect(pg_url) as conn:
        built = build(conn)
        assert built == Built(version(conn), None, None, None) and built.version is not None
    # a layer of another name is the one read where named
    multi = gpd.GeoDataFrame(
        {"name": ["m"]},
        geometry=[MultiLineString([[(X0, Y0), (X0 + 50, Y0)], [(X0, Y0 + 9), (X0 + 50, Y0 + 9)]])],
        crs="EPSG:3844",
    )
    _import(pg_url, tmp_path / "roads.gpkg", multi, layer="roads")
    with psycopg.connect(pg_url) as conn:
        graphs = StreetGraphs("roads")
        roads = graphs.built(conn)
        assert roads.version == version(conn, "roads") and roads.version is not None
        assert graphs.built(conn) is roads  # its own layer's version is the one compared
    assert roads.graph is not None and len(roads.graph.edges) == 2


def test_a_street_layer_in_degrees_is_refused_with_its_name(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    degrees = gpd.GeoDataFrame(
        {"name": ["a"]}, geometry=[LineString([(24.8, 43.7), (24.9, 43.7)])], crs="EPSG:4326"
    )
    _import(pg_url, tmp_path / "degrees.gpkg", degrees)
    with psycopg.connect(pg_url) as conn, pytest.raises(NetworkUnusable) as refused:
        StreetGraphs().built(conn)
    assert str(refused.value).startswith("layer 'streets': streets are in ")
