"""Live parking by zone: the totals of hand-made lots, added up here by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from parking import zones
from parking.model import LotState, LotStatus, Source
from parking.store import Lot

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
