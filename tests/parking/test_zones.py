"""Live parking by zone: the totals of hand-made lots, added up here by hand; paid
parking zones from a layer imported into real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
from psycopg import AsyncConnection
from shapely.geometry import box

from gis_layers.importer import import_file
from parking import zones
from parking.model import LotState, LotStatus, Source
from parking.store import Lot
from storage import migrations

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def _lot(
    lot_id: str,
    status: LotStatus,
    capacity: int | None,
    occupied: int | None,
    zone: str | None = None,
    name: str | None = None,
) -> Lot:
    free = None if capacity is None or occupied is None else capacity - occupied
    state = LotState(lot_id, lot_id, status, Source.BAYS, capacity, occupied, free, NOW, 0.0)
    return Lot(state, 24.87, 43.75, zone, name)


def test_a_summary_adds_up_the_lots_with_figures_and_counts_every_status() -> None:
    lots = [
        _lot("a", LotStatus.OPEN, 100, 40),
        _lot("b", LotStatus.FULL, 20, 20),
        _lot("c", LotStatus.SENSOR_FAULT, 30, 6),
        _lot("d", LotStatus.CLOSED, 50, 0),  # closed: its places are not offered
        _lot("e", LotStatus.UNKNOWN, 10, None),
        _lot("f", LotStatus.OPEN, None, 3),  # no capacity: not counted
        _lot("g", LotStatus.OPEN, 8, 1),
    ]
    found = zones.summary(lots)
    assert found == {
        "lots": ["a", "b", "c", "d", "e", "f", "g"],
        "capacity": 158,
        "occupied": 67,
        "free": 91,
        "occupancy": round(67 / 158, 4),
        "lots_counted": 4,
        "by_status": {"closed": 1, "full": 1, "open": 3, "sensor_fault": 1, "unknown": 1},
    }
    assert found["occupancy"] == 0.4241


def test_a_summary_of_no_usable_lot_has_no_occupancy() -> None:
    assert zones.summary([]) == {
        "lots": [],
        "capacity": 0,
        "occupied": 0,
        "free": 0,
        "occupancy": None,
        "lots_counted": 0,
        "by_status": {},
    }
    closed = zones.summary([_lot("d", LotStatus.CLOSED, 50, 10)])
    assert (closed["capacity"], closed["occupancy"], closed["lots_counted"]) == (0, None, 0)


def test_a_lot_open_with_its_free_places_unknown_is_not_counted() -> None:
    state = LotState("x", "x", LotStatus.OPEN, Source.BAYS, 10, 4, None, NOW, 0.0)
    found = zones.summary([Lot(state, 0.0, 0.0, None, None)])
    assert (found["capacity"], found["occupied"], found["lots_counted"]) == (0, 0, 0)


def test_by_urbanism_zone_in_code_order_and_lots_outside_every_zone_last() -> None:
    lots = [
        _lot("out", LotStatus.OPEN, 10, 5),
        _lot("r1", LotStatus.FULL, 4, 4, "R2", "Residential"),
        _lot("c1", LotStatus.OPEN, 40, 10, "C1", "Centre"),
        _lot("c2", LotStatus.OPEN, 20, 5, "C1", "Centre"),
    ]
    found = zones.by_urbanism_zone(lots)
    assert [(z["zone"], z["name"], z["lots"]) for z in found] == [
        ("C1", "Centre", ["c1", "c2"]),
        ("R2", "Residential", ["r1"]),
        (None, None, ["out"]),
    ]
    assert (found[0]["capacity"], found[0]["occupied"], found[0]["free"]) == (60, 15, 45)
    assert found[1]["by_status"] == {"full": 1}
    # no lot outside: no null zone
    assert [z["zone"] for z in zones.by_urbanism_zone(lots[1:])] == ["C1", "R2"]
    assert zones.by_urbanism_zone([]) == []


def test_by_paid_zone_every_zone_of_the_layer_in_its_order(pg_url: str, tmp_path: Path) -> None:
    # Z2 (first in the layer) holds lot a, Z1 holds a and b, Z3 none; lot c is outside all
    paid = gpd.GeoDataFrame(
        {"code": ["Z2", "Z1", "Z3"], "name": ["Zona 2", "Zona 1", "Zona 3"]},
        geometry=[box(24.0, 43.0, 24.5, 43.5), box(24.0, 43.0, 25.0, 44.0), box(30, 40, 31, 41)],
        crs="EPSG:4326",
    )
    path = tmp_path / "town.gpkg"
    paid.to_file(path, layer=zones.PAID_ZONES_LAYER)
    lots = [
        Lot(_lot("a", LotStatus.OPEN, 10, 4).state, 24.2, 43.2, None, None),
        Lot(_lot("b", LotStatus.FULL, 5, 5).state, 24.8, 43.8, None, None),
        Lot(_lot("c", LotStatus.OPEN, 7, 1).state, 26.0, 45.0, None, None),
    ]

    async def paid_zones(lots: list[Lot]) -> list[dict[str, Any]] | None:
        async with await AsyncConnection.connect(pg_url) as conn:
            return await zones.by_paid_zone(conn, lots)

    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    assert asyncio.run(paid_zones(lots)) is None  # no such layer: no zones invented
    with psycopg.connect(pg_url) as conn:
        import_file(conn, path)
    found = asyncio.run(paid_zones(lots))
    assert found is not None
    assert [(z["zone"], z["name"], z["lots"]) for z in found] == [
        ("Z2", "Zona 2", ["a"]),
        ("Z1", "Zona 1", ["a", "b"]),
        ("Z3", "Zona 3", []),
    ]
    assert (found[1]["capacity"], found[1]["occupied"], found[1]["free"]) == (15, 9, 6)
    assert found[0]["by_status"] == {"open": 1} and found[2]["occupancy"] is None
    # no lot at all: every zone, empty
    empty = asyncio.run(paid_zones([]))
    assert empty is not None and [(z["zone"], z["lots"]) for z in empty] == [
        ("Z2", []),
        ("Z1", []),
        ("Z3", []),
    ]
