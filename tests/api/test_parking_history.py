"""Parking history over real PostgreSQL: the recorder's samples of each lot and zone, the
history and utilisation routes over hand-written samples, and what they refuse. Every
expected figure is computed by hand in the comments beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box

from api.app import create_app
from api.routes.parking_history import HistoryAnswer, UtilisationAnswer
from gis_layers.importer import import_file
from hub.demo_history import fill_lot_history
from parking import history_recorder
from parking.history import HistoryBucket, series_history
from parking.history_recorder import HistoryRecorder
from settings import RetentionSettings, Settings
from storage import devices, migrations, rollups
from storage.readings import Reading, ReadingWriter
from twin.registry import sync_from_layers

X0, Y0 = 489700.0, 250200.0  # Stereo 70
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
FIVE = 5 * MINUTE
# Monday 2 June 2025, 09:00 UTC = 12:00 in Bucharest (EEST, +3)
SUMMER = datetime(2025, 6, 2, 9, tzinfo=UTC)
# Monday 9 June, same hour; Monday 6 January 2025 10:00 UTC = 12:00 in Bucharest (EET, +2)
SUMMER_2 = datetime(2025, 6, 9, 9, tzinfo=UTC)
WINTER = datetime(2025, 1, 6, 10, tzinfo=UTC)
LOT = "parking-lot:lot-a"
COUNTED = ("occupied_spaces",)

ZONES = gpd.GeoDataFrame(
    {"code": ["C1", "R2"], "name": ["Centre", "Residential"]},
    geometry=[box(X0, Y0, X0 + 300, Y0 + 300), box(X0 + 300, Y0, X0 + 600, Y0 + 300)],
    crs="EPSG:3844",
)
PAID = gpd.GeoDataFrame(  # a paid parking zone around lot-a only
    {"code": ["P1"], "name": ["Zona 1"]},
    geometry=[box(X0 + 50, Y0 + 50, X0 + 150, Y0 + 150)],
    crs="EPSG:3844",
)
ASSETS = gpd.GeoDataFrame(
    {
        "asset_id": ["lot-a", "lot-b", "lot-c", "lot-d"],
        "name": ["A", "B", "C", "D"],
        "kind": ["parking_lot"] * 4,
        "capacity": [10, 50, 3, 20],
    },
    geometry=[
        Point(X0 + 100, Y0 + 100),  # C1, P1
        Point(X0 + 250, Y0 + 100),  # C1
        Point(X0 + 400, Y0 + 100),  # R2
        Point(X0 + 450, Y0 + 100),  # R2
    ],
    crs="EPSG:3844",
)
A_BAYS = [f"A{k:02d}" for k in range(1, 11)]
SENSORS = gpd.GeoDataFrame(
    {
        "device_id": [f"{b}-sensor" for b in A_BAYS]
        + ["lot-a-counter", "lot-b-counter", "C1-sensor", "C2-sensor", "C3-sensor"]
        + ["lot-d-counter"],
        "kind": ["parking_bay"] * 10
        + ["parking_counter"] * 2
        + ["parking_bay"] * 3
        + ["parking_counter"],
        "asset_id": ["lot-a"] * 11 + ["lot-b"] + ["lot-c"] * 3 + ["lot-d"],
        "quantities": ["occupied"] * 10
        + ["occupied_spaces"] * 2
        + ["occupied"] * 3
        + ["occupied_spaces"],
    },
    geometry=[Point(X0 + 81 + k, Y0 + 92) for k in range(10)]
    + [Point(X0 + 100, Y0 + 100), Point(X0 + 250, Y0 + 100)]
    + [Point(X0 + 400 + k, Y0 + 100) for k in range(3)]
    + [Point(X0 + 450, Y0 + 100)],
    crs="EPSG:3844",
)


def _live(now: datetime) -> list[Reading]:
    """lot-a: 3 of its 10 bays occupied (its counter says 4: within the drift limit);
    lot-b: counter 12 of 50; lot-c: bays only, 2 of 3; lot-d: counter 7 of 20, closed."""
    t = now - MINUTE
    found = [
        Reading(f"{b}-sensor", "occupied", t, float(b in {"A01", "A02", "A05"})) for b in A_BAYS
    ]
    found += [
        Reading("lot-a-counter", "occupied_spaces", t, 4.0),
        Reading("lot-b-counter", "occupied_spaces", t, 12.0),
        Reading("C1-sensor", "occupied", t, 1.0),
        Reading("C2-sensor", "occupied", t, 1.0),
        Reading("C3-sensor", "occupied", t, 0.0),
        Reading("lot-d-counter", "occupied_spaces", t, 7.0),
    ]
    return found


def _sample(series: str, at: datetime, occupied: float, capacity: float) -> list[Reading]:
    return [
        Reading(series, "parking_occupied", at, occupied),
        Reading(series, "parking_capacity", at, capacity),
        Reading(series, "parking_occupancy", at, occupied / capacity),
    ]


def _hand_samples() -> list[Reading]:
    """lot-a's samples: SUMMER's hour 0, 1, .., 11 of 20; the next hour 4 of 20 three
    times then 4 of 10 three times (capacity changed); SUMMER_2's hour 15 of 20 twelve
    times; WINTER's hour 2 of 20 twelve times."""
    found: list[Reading] = []
    for k in range(12):
        found += _sample(LOT, SUMMER + k * FIVE, float(k), 20.0)
        found += _sample(LOT, SUMMER_2 + k * FIVE, 15.0, 20.0)
        found += _sample(LOT, WINTER + k * FIVE, 2.0, 20.0)
    for k in range(6):
        found += _sample(LOT, SUMMER + HOUR + k * FIVE, 4.0, 20.0 if k < 3 else 10.0)
    return found


@pytest.fixture
def town(pg_url: str, tmp_path: Path) -> Iterator[str]:
    """The lots above, their live readings now, lot-d closed, and lot-a's hand samples
    rolled up."""
    path = tmp_path / "town.gpkg"
    layers = {"zones": ZONES, "assets": ASSETS, "sensors": SENSORS, "parking_zones": PAID}
    for name, frame in layers.items():
        frame.to_file(path, layer=name)
    now = datetime.now(UTC)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, path)
        sync_from_layers(conn)
        writer = ReadingWriter(migrations.readings_storage(conn))
        writer.write(conn, _live(now))
        writer.write(conn, _hand_samples())
        conn.execute(
            "INSERT INTO parking_lot_overrides (lot_id, closed_reason, closed_since)"
            " VALUES ('lot-d', 'works', %s)",
            (now - HOUR,),
        )
        conn.commit()
        rollups.refresh(conn, RetentionSettings(), datetime(2025, 7, 1, tzinfo=UTC))
        conn.commit()
        # the hand samples are in the rollups, not only raw
        hours = conn.execute(
            "SELECT count(*) FROM readings_1h WHERE device_id = %s", (LOT,)
        ).fetchone()
        assert hours is not None and hours[0] == 3 * 4  # 4 hours, 3 quantities
    yield pg_url


def _stored(url: str, at: datetime) -> dict[tuple[str, str], float]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT device_id, quantity, value FROM readings WHERE time = %s"
            " AND device_id LIKE 'parking-%%'",
            (at,),
        ).fetchall()
    return {(d, q): v for d, q, v in rows}


def _record(url: str, recorder: HistoryRecorder) -> int:
    async def run() -> int:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await recorder.record(conn)

    return asyncio.run(run())


def test_the_recorder_samples_every_lot_and_zone_once(town: str) -> None:
    now = datetime.now(UTC)
    slot = rollups.floor_time(now, FIVE)
    recorder = HistoryRecorder(town, clock=lambda: now)
    # lot-a, lot-b, lot-c; zones C1 (a + b), R2 (c; d is closed), P1 (a): 6 series x 3
    assert _record(town, recorder) == 18
    stored = _stored(town, slot)
    occupied = {d: v for (d, q), v in stored.items() if q == "parking_occupied"}
    capacity = {d: v for (d, q), v in stored.items() if q == "parking_capacity"}
    assert occupied == {
        "parking-lot:lot-a": 3,  # the bays' figure (the counter's 4 is within the limit)
        "parking-lot:lot-b": 12,
        "parking-lot:lot-c": 2,  # bays only
        "parking-zone:C1": 15,
        "parking-zone:R2": 2,
        "parking-paid:P1": 3,
    }
    assert capacity == {
        "parking-lot:lot-a": 10,
        "parking-lot:lot-b": 50,
        "parking-lot:lot-c": 3,
        "parking-zone:C1": 60,
        "parking-zone:R2": 3,
        "parking-paid:P1": 10,
    }
    assert stored[("parking-zone:C1", "parking_occupancy")] == pytest.approx(15 / 60)
    # the same slot again: nothing; another recorder (another process): nothing new
    assert _record(town, recorder) == 0
    assert _record(town, HistoryRecorder(town, clock=lambda: now)) == 0
    assert len(_stored(town, slot)) == 18


def test_one_writer_at_a_time(town: str) -> None:
    at = datetime(2025, 6, 3, tzinfo=UTC)
    with psycopg.connect(town) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (history_recorder._LOCK_KEY,))
        assert history_recorder.write(town, _sample(LOT, at, 1.0, 2.0)) == 0
    assert history_recorder.write(town, _sample(LOT, at, 1.0, 2.0)) == 3


def _bucket(answer: HistoryAnswer, k: int) -> tuple:
    b = answer.buckets[k]
    return (
        b.start,
        b.samples,
        b.occupied,
        b.occupied_min,
        b.occupied_max,
        b.capacity,
        b.free,
        b.occupancy,
        b.occupancy_max,
    )


def test_a_lots_history_by_5_minutes_hour_and_day(town: str) -> None:
    with TestClient(create_app(Settings(), town)) as client:  # public
        span = {"start": SUMMER.isoformat(), "end": (SUMMER + 2 * HOUR).isoformat()}
        hourly = client.get("/parking/lots/lot-a/history", params=span | {"step": "1h"})
        assert hourly.status_code == 200, hourly.text
        by_hour = HistoryAnswer.model_validate(hourly.json())
        fine = client.get(
            "/parking/lots/lot-a/history",
            params={
                "start": SUMMER.isoformat(),
                "end": (SUMMER + 15 * MINUTE).isoformat(),
                "step": "5m",
            },
        )
        daily = client.get(
            "/parking/lots/lot-a/history",
            params={"start": "2025-06-02T00:00:00Z", "end": "2025-06-03T00:00:00Z", "step": "1d"},
        )
    assert by_hour.series == LOT and by_hour.lot_id == "lot-a" and by_hour.step == "1h"
    assert len(by_hour.buckets) == 2
    # 0..11 of 20: mean 5.5, free 14.5, share 5.5 / 20 = 0.275, at most 11 / 20
    assert _bucket(by_hour, 0) == (SUMMER, 12, 5.5, 0, 11, 20, 14.5, 0.275, 0.55)
    # 4 of 20 x3, 4 of 10 x3: capacity 15, free 11, share (0.2 x3 + 0.4 x3) / 6
    assert _bucket(by_hour, 1) == (SUMMER + HOUR, 6, 4, 4, 4, 15, 11, 0.3, 0.4)
    assert by_hour.buckets[1].end == SUMMER + 2 * HOUR
    five = HistoryAnswer.model_validate(fine.json())
    assert [(b.start, b.samples, b.occupied, b.occupancy) for b in five.buckets] == [
        (SUMMER + k * FIVE, 1, k, k / 20) for k in range(3)
    ]
    day = HistoryAnswer.model_validate(daily.json())
    # 18 samples: occupied (66 + 24) / 18 = 5; capacity (240 + 60 + 30) / 18;
    # share (3.3 + 1.8) / 18
    assert len(day.buckets) == 1
    assert _bucket(day, 0)[:5] == (datetime(2025, 6, 2, tzinfo=UTC), 18, 5, 0, 11)
    assert _bucket(day, 0)[5:] == pytest.approx((330 / 18, 330 / 18 - 5, 5.1 / 18, 0.55), abs=1e-2)


def test_a_history_answer_carries_an_etag_and_is_not_sent_again(town: str) -> None:
    span = {"start": "2025-01-01T00:00:00Z", "end": "2025-07-01T00:00:00Z", "step": "1h"}
    with TestClient(create_app(Settings(), town)) as client:
        first = client.get("/parking/lots/lot-a/history", params=span)
        tag = first.headers["etag"]
        same = client.get("/parking/lots/lot-a/history", params=span)
        unchanged = client.get(
            "/parking/lots/lot-a/history", params=span, headers={"If-None-Match": tag}
        )
        with psycopg.connect(town) as conn:  # a late sample in lot-a's summer hour
            ReadingWriter(migrations.readings_storage(conn)).write(
                conn, _sample(LOT, SUMMER + 2 * MINUTE, 11.0, 20.0)
            )
            conn.commit()
            rollups.refresh(conn, RetentionSettings(), datetime(2025, 7, 1, tzinfo=UTC))
            conn.commit()
        changed = client.get(
            "/parking/lots/lot-a/history", params=span, headers={"If-None-Match": tag}
        )
        zone = client.get("/parking/zones/P1/history", params=span | {"kind": "paid"})
    assert first.status_code == 200 and tag.startswith('W/"')
    assert same.content == first.content and same.headers["etag"] == tag
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    # SUMMER's hour: 0..11 and the late 11: 13 samples, at most 11
    buckets = HistoryAnswer.model_validate(changed.json()).buckets
    assert [(b.samples, b.occupied_max) for b in buckets if b.start == SUMMER] == [(13, 11)]
    assert zone.status_code == 200 and "etag" in zone.headers


def test_rollups_and_raw_readings_give_the_same_history(town: str) -> None:
    async def both() -> tuple[list[HistoryBucket], list[HistoryBucket]]:
        async with await psycopg.AsyncConnection.connect(town) as conn:
            start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
            fast = await series_history(conn, LOT, start, end, HOUR)
            slow = await series_history(conn, LOT, start, end, HOUR, raw=True)
            return fast, slow

    fast, slow = asyncio.run(both())
    assert len(fast) == len(slow) == 4
    for a, b in zip(fast, slow, strict=True):
        assert (a.start, a.end, a.samples) == (b.start, b.end, b.samples)
        numbers = ("occupied", "occupied_min", "occupied_max", "capacity", "free", "occupancy")
        assert [getattr(a, n) for n in numbers] == pytest.approx([getattr(b, n) for n in numbers])


def test_utilisation_by_local_hour_of_week_and_peak(town: str) -> None:
    with TestClient(create_app(Settings(), town)) as client:
        answer = client.get(
            "/parking/lots/lot-a/utilisation",
            params={"start": "2025-01-01T00:00:00Z", "end": "2025-07-01T00:00:00Z"},
        )
        utc = client.get(
            "/parking/lots/lot-a/utilisation",
            params={"start": "2025-01-01T00:00:00Z", "end": "2025-07-01T00:00:00Z", "tz": "UTC"},
        )
    assert answer.status_code == 200, answer.text
    found = UtilisationAnswer.model_validate(answer.json())
    assert found.time_zone == "Europe/Bucharest" and len(found.cells) == 168
    cells = {(c.weekday, c.hour): c for c in found.cells if c.hours}
    assert sorted(cells) == [(0, 12), (0, 13)]
    noon = cells[(0, 12)]  # Monday 12:00 local: both summer hours and the winter one
    # (0.275 x 12 + 0.75 x 12 + 0.1 x 12) / 36 = 0.375
    assert (noon.hours, noon.occupancy, noon.occupancy_max, noon.occupied_max) == (
        3,
        0.375,
        0.75,
        15,
    )
    one = cells[(0, 13)]
    assert (one.hours, one.occupancy, one.occupancy_max, one.occupied_max) == (1, 0.3, 0.4, 4)
    assert found.peak is not None
    assert (found.peak.occupied, found.peak.at, found.peak.resolution) == (15, SUMMER_2, "5m")
    # in UTC the summer hours are Monday 09:00 and 10:00, the winter one 10:00
    in_utc = {(c["weekday"], c["hour"]): c["hours"] for c in utc.json()["cells"] if c["hours"]}
    assert in_utc == {(0, 9): 2, (0, 10): 2}


def test_a_zones_history_from_the_recorders_samples(town: str) -> None:
    now = datetime.now(UTC)
    slot = rollups.floor_time(now, FIVE)
    assert _record(town, HistoryRecorder(town, clock=lambda: now)) == 18
    span = {"start": slot.isoformat(), "end": (slot + FIVE).isoformat(), "step": "5m"}
    with TestClient(create_app(Settings(), town)) as client:
        centre = client.get("/parking/zones/C1/history", params=span)
        paid = client.get("/parking/zones/P1/history", params=span | {"kind": "paid"})
        lot_c = client.get("/parking/lots/lot-c/history", params=span)
        closed = client.get("/parking/lots/lot-d/history", params=span)
        unknown = client.get("/parking/zones/Z9/history", params=span)
        not_paid = client.get("/parking/zones/C1/history", params=span | {"kind": "paid"})
    zone = HistoryAnswer.model_validate(centre.json())
    assert (zone.zone, zone.zone_kind, zone.series) == ("C1", "urbanism", "parking-zone:C1")
    assert [(b.occupied, b.capacity, b.free, b.samples) for b in zone.buckets] == [(15, 60, 45, 1)]
    p1 = HistoryAnswer.model_validate(paid.json())
    assert [(b.occupied, b.capacity) for b in p1.buckets] == [(3, 10)]
    assert [(b["occupied"], b["capacity"]) for b in lot_c.json()["buckets"]] == [(2, 3)]
    assert closed.status_code == 200 and closed.json()["buckets"] == []  # closed: no sample
    for refused in (unknown, not_paid):
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"


def test_bad_ranges_steps_and_unknown_lots_are_refused(town: str) -> None:
    year = {"start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    with TestClient(create_app(Settings(), town)) as client:
        answers = {
            "step": client.get("/parking/lots/lot-a/history", params=year | {"step": "2h"}),
            "order": client.get(
                "/parking/lots/lot-a/history",
                params={"start": "2025-02-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
            ),
            "naive": client.get(
                "/parking/lots/lot-a/history", params={"start": "2025-01-01T00:00:00"}
            ),
            "too_fine": client.get("/parking/lots/lot-a/history", params=year | {"step": "5m"}),
            "too_long": client.get(
                "/parking/lots/lot-a/history",
                params={
                    "start": "1990-01-01T00:00:00Z",
                    "end": "2025-01-01T00:00:00Z",
                    "step": "1d",
                },
            ),
            "tz": client.get("/parking/lots/lot-a/utilisation", params={"tz": "Mars/Olympus"}),
            "years": client.get(
                "/parking/lots/lot-a/utilisation",
                params={"start": "2020-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
            ),
            "kind": client.get("/parking/zones/C1/history", params={"kind": "street"}),
            "calendar": client.get(
                "/parking/lots/lot-a/history",
                params={"start": "9999-12-31T00:00:00Z", "end": "9999-12-31T01:00:00Z"},
            ),
            "calendar_u": client.get(
                "/parking/lots/lot-a/utilisation",
                params={"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"},
            ),
            "path": client.get(
                "/parking/lots/lot-a/utilisation", params={"tz": "../../etc/passwd"}
            ),
        }
        missing = client.get("/parking/lots/lot-zz/history", params=year | {"step": "1d"})
        missing_u = client.get("/parking/lots/lot-zz/utilisation")
        year_by_hour = client.get("/parking/lots/lot-a/history", params=year | {"step": "1h"})
    for name, answer in answers.items():
        assert answer.status_code == 400, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", name
    assert "step=1h" in answers["too_fine"].json()["detail"]  # the remedy is named
    assert "shorter" in answers["too_long"].json()["detail"]
    for answer in (missing, missing_u):
        assert answer.status_code == 404 and "lot-zz" in answer.json()["detail"]
    assert year_by_hour.status_code == 200  # 8,760 buckets: within the bound
    assert len(year_by_hour.json()["buckets"]) == 4


def test_the_demo_history_fills_each_lots_series_from_its_counter(pg_url: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        conn.execute(
            "INSERT INTO assets (asset_id, name, kind, lon, lat, properties)"
            " VALUES ('lot-gara', 'Gara', 'parking_lot', 24.87, 43.75, '{\"capacity\": 8}')"
        )
        devices.register(
            conn,
            [
                devices.Device(
                    "lot-gara-counter", "parking_counter", ("occupied_spaces",), "lot-gara"
                )
            ]
            + [
                devices.Device(f"lot-gara-b{i}", "parking_bay", ("occupied",), "lot-gara")
                for i in range(8)
            ],
        )
        assert fill_lot_history(conn, seed=42, now=now, weeks=1) > 0
        conn.commit()
        counter = dict(
            conn.execute(
                "SELECT time, value FROM readings WHERE device_id = 'lot-gara-counter'"
            ).fetchall()
        )
        series = {
            (t, q): v
            for t, q, v in conn.execute(
                "SELECT time, quantity, value FROM readings WHERE device_id = %s",
                ("parking-lot:lot-gara",),
            ).fetchall()
        }
    assert len(counter) >= 7 * 288  # a week of 5-minute readings
    for t, value in counter.items():
        assert series[(t, "parking_occupied")] == min(max(value, 0), 8)
        assert series[(t, "parking_capacity")] == 8
        assert series[(t, "parking_occupancy")] == pytest.approx(
            series[(t, "parking_occupied")] / 8
        )
    assert len(series) == 3 * len(counter)
