"""The nearest parking lots with enough free places, by the street network.

The lots come in as :class:`Lot` values (where each is and how many places it has free),
so this module does not depend on where live occupancy is kept. The network is the
``streets`` layer as stored (its native, metric CRS), made into a
:class:`~parking.street_graph.StreetGraph` once per import of the layer
(:class:`StreetGraphs`). A town without a street layer gets straight-line (geodesic)
distances, and the answer says so (``method``).

The answer is a GeoJSON FeatureCollection in CRS84, one feature per lot, nearest first
(distances equal to the decimetre by lot id). Each feature's geometry is the way from
the origin to the lot (origin, along the streets, lot); its ``distance_m`` is the
origin's ``snap_m`` (to the nearest street, given once under ``origin``) + ``network_m``
(along the streets) + ``lot_snap_m`` (from the street to the lot). Lots with enough free
places that no street leads to from the origin (another component of the network) are
not ranked: they are listed by id in ``unreachable``.

Example:
    >>> graphs = StreetGraphs()  # doctest: +SKIP
    >>> built = graphs.built(conn)  # doctest: +SKIP
    >>> nearest((24.87, 43.75), lots, built, min_free=3, limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
import psycopg
import shapely
from pyproj import CRS, Geod, Transformer

from gis_layers.stored import layer_frame
from parking.errors import ParkingError
from parking.street_graph import Search, Snap, StreetGraph, StreetGraphError

STREETS_LAYER = "streets"
CRS84 = "OGC:CRS84"
MAX_ORIGIN_SNAP_M = 1_000.0
"""An origin farther than this from every street is refused: the answer would be a walk
across country to the network, not parking guidance."""
MAX_STRAIGHT_LINE_M = 20_000.0
"""Without a street network, an origin farther than this from every lot is refused (the
town's lots are not where the caller is)."""
DECIMALS = 7
"""Coordinates out, in degrees: about a centimetre."""

_GEOD = Geod(ellps="WGS84")


class NearestLotError(ParkingError):
    """Base of the nearest-lot errors; each carries its HTTP status and title."""

    status_code = 400
    title = "Invalid origin"


class OriginTooFar(NearestLotError):
    """The origin is too far from the network (or, without one, from every lot)."""


class OriginNotFound(NearestLotError):
    """The asset or address named as the origin does not exist."""

    status_code = 404
    title = "Origin not found"


class NetworkUnusable(NearestLotError):
    """The street layer cannot be made into a network; the message says how to fix it."""

    status_code = 409
    title = "Street network unusable"


@dataclass(frozen=True)
class Lot:
    """A parking lot as the search needs it: where it is and how many places are free.

    ``lon``/``lat`` (CRS84) is its entrance where known, else its centre; ``free`` is
    None where its occupancy is unknown (such a lot qualifies only for ``min_free`` 0)."""

    lot_id: str
    name: str
    lon: float
    lat: float
    free: int | None
    capacity: int | None

    def qualifies(self, min_free: int) -> bool:
        """Whether the lot has at least ``min_free`` places free, as far as is known."""
        return min_free == 0 or (self.free is not None and self.free >= min_free)


Version = datetime | None
"""The street layer's import time (``None``: the town has no street layer)."""

_VERSION = "SELECT imported_at FROM layers WHERE layer_id = %s"


def version(conn: psycopg.Connection, layer_id: str = STREETS_LAYER) -> Version:
    """When the street layer was last imported (None if it is not)."""
    row = conn.execute(_VERSION, (layer_id,)).fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class Built:
    """The network of one version of the street layer (None: no usable lines, so
    straight-line distances) and the transformations to and from CRS84."""

    version: Version
    graph: StreetGraph | None
    to_graph: Transformer | None
    to_crs84: Transformer | None

    @classmethod
    def of(cls, version: Version, graph: StreetGraph | None) -> Built:
        """The network and its transformations (none without a network)."""
        if graph is None:
            return cls(version, None, None, None)
        return cls(
            version,
            graph,
            Transformer.from_crs(CRS84, graph.crs, always_xy=True),
            Transformer.from_crs(graph.crs, CRS84, always_xy=True),
        )


def build(conn: psycopg.Connection, layer_id: str = STREETS_LAYER) -> Built:
    """The street network as the database holds it now."""
    current = version(conn, layer_id)
    if current is None:
        return Built.of(None, None)
    frame = layer_frame(conn, layer_id)
    lines = frame.geometry[frame.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    if lines.empty:
        return Built.of(current, None)
    try:
        graph = StreetGraph(list(lines), CRS.from_user_input(frame.crs))
    except StreetGraphError as exc:
        raise NetworkUnusable(f"layer {layer_id!r}: {exc}") from exc
    return Built.of(current, graph)


class StreetGraphs:
    """One process's street network, rebuilt when the street layer is re-imported."""

    def __init__(self, layer_id: str = STREETS_LAYER) -> None:
        self.layer_id = layer_id
        self._lock = threading.Lock()
        """Held while a network is built: one build at a time."""
        self._built: Built | None = None

    def memoised(self, current: Version) -> Built | None:
        """The network built for ``current`` (the layer's import time, as the caller
        read it from the catalogue), if it is the one held: no database, no waiting."""
        built = self._built
        return built if built is not None and built.version == current else None

    def built(self, conn: psycopg.Connection) -> Built:
        """The current network, built (or rebuilt) if the layer changed."""
        current = version(conn, self.layer_id)
        with self._lock:
            if self._built is None or self._built.version != current:
                self._built = build(conn, self.layer_id)
            return self._built


def nearest(
    origin: tuple[float, float],
    lots: Sequence[Lot],
    network: Built,
    min_free: int = 1,
    limit: int = 5,
) -> dict[str, Any]:
    """The ``limit`` lots nearest ``origin`` (lon, lat in CRS84) with at least
    ``min_free`` places free, as a GeoJSON FeatureCollection (see the module)."""
    if min_free < 0 or limit < 1:
        raise ValueError(f"min_free must be >= 0 and limit >= 1, got {min_free}, {limit}")
    wanted = [lot for lot in lots if lot.qualifies(min_free)]
    if network.graph is None:
        found, snap_m, unreachable = _straight(origin, lots, wanted), 0.0, list[str]()
        method = "straight-line"
    else:
        found, snap_m, unreachable = _by_network(origin, wanted, network)
        method = "network"
    found.sort(key=lambda r: (round(r.distance_m, 1), r.lot.lot_id))
    document: dict[str, Any] = {
        "type": "FeatureCollection",
        "method": method,
        "origin": {
            "lon": origin[0],
            "lat": origin[1],
            "snap_m": round(snap_m, 1),
        },
        "min_free": min_free,
        "network": _described(network),
        "unreachable": sorted(unreachable),
        "numberMatched": len(found),
        "numberReturned": min(limit, len(found)),
        "features": [r.feature() for r in found[:limit]],  # only these ways are drawn
    }
    return document


def _described(network: Built) -> dict[str, Any] | None:
    if network.graph is None:
        return None
    return {
        "layer": STREETS_LAYER,
        "imported_at": None if network.version is None else network.version.isoformat(),
        "nodes": len(network.graph.nodes),
        "edges": len(network.graph.edges),
        "directed": False,
    }


@dataclass(frozen=True)
class _Reached:
    """A lot reached, its whole distance, and how to draw its feature (done only for
    the lots in the answer)."""

    distance_m: float
    lot: Lot
    feature: Callable[[], dict[str, Any]]


def _by_network(
    origin: tuple[float, float], lots: Sequence[Lot], network: Built
) -> tuple[list[_Reached], float, list[str]]:
    """The lots reached over the streets, the origin's snap, the lots not reached."""
    graph, to_graph, to_crs84 = network.graph, network.to_graph, network.to_crs84
    assert graph is not None and to_graph is not None and to_crs84 is not None
    lons = np.array([origin[0], *(lot.lon for lot in lots)])
    lats = np.array([origin[1], *(lot.lat for lot in lots)])
    xs, ys = to_graph.transform(lons, lats)
    start, *ends = graph.snap(shapely.points(np.column_stack([xs, ys])).tolist())
    if not np.isfinite(start.offset) or start.offset > MAX_ORIGIN_SNAP_M:
        raise OriginTooFar(
            f"the origin ({origin[0]:g}, {origin[1]:g}) is {start.offset:,.0f} m from the"
            f" nearest street; give a point within {MAX_ORIGIN_SNAP_M:,.0f} m of the town's"
            " streets"
        )
    search = graph.search(start)
    reached, unreachable = [], []
    for lot, end in zip(lots, ends, strict=True):
        network_m = search.network_m(end)
        if not np.isfinite(network_m):
            unreachable.append(lot.lot_id)
            continue
        draw = partial(_feature, lot, search, end, to_crs84)
        reached.append(_Reached(start.offset + network_m + end.offset, lot, draw))
    return reached, start.offset, unreachable


def _feature(lot: Lot, search: Search, end: Snap, to_crs84: Transformer) -> dict[str, Any]:
    route = search.route(end)
    assert route is not None  # only lots reached are drawn
    coords = shapely.get_coordinates(route.line)
    lons, lats = to_crs84.transform(coords[:, 0], coords[:, 1])
    line = np.round(np.column_stack([lons, lats]), DECIMALS).tolist()
    return _lot_feature(
        lot,
        line,
        distance_m=search.origin.offset + route.network_m + end.offset,
        network_m=route.network_m,
        lot_snap_m=end.offset,
    )


def _straight(
    origin: tuple[float, float], lots: Sequence[Lot], wanted: Sequence[Lot]
) -> list[_Reached]:
    """The wanted lots by geodesic distance; refused if every lot is far away."""
    if not lots:
        return []
    n = len(lots)
    _, _, every = _GEOD.inv(
        [origin[0]] * n, [origin[1]] * n, [x.lon for x in lots], [x.lat for x in lots]
    )
    if min(every) > MAX_STRAIGHT_LINE_M:
        raise OriginTooFar(
            f"the origin ({origin[0]:g}, {origin[1]:g}) is {min(every) / 1000:,.1f} km from"
            f" the nearest lot; give a point within {MAX_STRAIGHT_LINE_M / 1000:g} km of one"
        )
    distance = dict(zip((lot.lot_id for lot in lots), every, strict=True))
    return [
        _Reached(
            float(distance[lot.lot_id]),
            lot,
            partial(
                _lot_feature,
                lot,
                [list(origin), [lot.lon, lot.lat]],
                distance_m=float(distance[lot.lot_id]),
                network_m=None,
                lot_snap_m=None,
            ),
        )
        for lot in wanted
    ]


def _lot_feature(
    lot: Lot,
    line: list[list[float]],
    *,
    distance_m: float,
    network_m: float | None,
    lot_snap_m: float | None,
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": lot.lot_id,
        "geometry": {"type": "LineString", "coordinates": line},
        "properties": {
            "lot_id": lot.lot_id,
            "name": lot.name,
            "free": lot.free,
            "capacity": lot.capacity,
            "lot": [lot.lon, lot.lat],
            "distance_m": round(distance_m, 1),
            "network_m": None if network_m is None else round(network_m, 1),
            "lot_snap_m": None if lot_snap_m is None else round(lot_snap_m, 1),
        },
    }
