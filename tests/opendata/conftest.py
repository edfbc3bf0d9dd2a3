"""A small town with a year of hourly rollups, for the open-data catalogue and downloads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis_layers.catalogue import set_public
from settings import Settings
from tests.api.conftest import build_small_town

YEAR = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
HOURS = 8_760
EXTRA_COUNTERS = 40
"""Lot counters added to the town's one, so that a year of hours is 41 × 8,760 rows."""
UNLIMITED = {"SMARTCITY_RATE_LIMIT_HEAVY": "1000000/minute"}

# Hourly buckets of a year, values by formula (the oracle recomputes them in Python):
# 4 readings an hour, mean = base + hour of the year mod 24, min = mean - 1, max = mean + 1.
_FILL = """
INSERT INTO readings_1h (device_id, quantity, bucket, count, sum, min, max,
                         first_time, first_value, last_time, last_value)
SELECT d.device_id, d.quantity, t, 4, 4 * (d.base + h %% 24), d.base + h %% 24 - 1,
       d.base + h %% 24 + 1, t, d.base + h %% 24, t + interval '45 minutes', d.base + h %% 24
FROM (VALUES {devices}) AS d (device_id, quantity, base),
     generate_series(0, %(hours)s - 1) AS h,
     LATERAL (SELECT %(start)s::timestamptz + h * interval '1 hour' AS t) AS times
"""


def mean(base: float, hour: int) -> float:
    """The oracle: the mean the fill gives hour ``hour`` of the year."""
    return base + hour % 24


def fill_town(url: str, tmp_path: Path) -> None:
    """The small town (tests/api/conftest.py), its parcels public, more lot counters,
    and a year of hourly rollups for the gauge, the counters and one parking bay."""
    build_small_town(url, tmp_path)
    with psycopg.connect(url) as conn:
        set_public(conn, "parcels", True)
        conn.execute(
            "INSERT INTO devices (device_id, kind, quantities, lon, lat)"
            " SELECT 'counter-' || lpad(i::text, 2, '0'), 'parking_counter',"
            " ARRAY['occupied_spaces'], 24.87 + i * 0.001, 43.75"
            " FROM generate_series(1, %s) AS i",
            (EXTRA_COUNTERS,),
        )
        devices = [
            ("gauge-tr-magurele", "water_level", 300.0),
            ("lot-centru-b001", "occupied", 0.0),
        ]
        devices += [("lot-centru-counter", "occupied_spaces", 1.0)]
        devices += [(f"counter-{i:02d}", "occupied_spaces", float(i)) for i in range(1, 41)]
        values = ", ".join(f"('{d}', '{q}', {b})" for d, q, b in devices)
        conn.execute(_FILL.format(devices=values), {"hours": HOURS, "start": YEAR[0]})


@pytest.fixture
def town(pg_url: str, tmp_path: Path) -> Iterator[str]:
    fill_town(pg_url, tmp_path)
    yield pg_url


@pytest.fixture
def client(town: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", rate_limit_heavy="1000000/minute")
    with TestClient(create_app(settings, town)) as anonymous:
        yield anonymous
