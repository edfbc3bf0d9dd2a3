"""The level's trend and when it would reach the next threshold: robust, labelled a trend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations
from statistics import NormalDist

import psycopg
import pytest

from api.app import create_app
from demo_town.river import DEMO
from harness.credentials import signed_in
from river_monitor.thresholds import WarningCode
from river_monitor.trend import trend
from settings import Settings
from storage import migrations
from storage.readings import Reading, ReadingWriter

GAUGE = DEMO.gauges[0]
END = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)
# 5 cm/h for 12 hours up to 480 cm, one reading wildly off (a least-squares line would tilt)
RISING = [(END - (11 - k) * HOUR, 425.0 + 5 * k) for k in range(12)]
RISING[5] = (RISING[5][0], 900.0)


def test_theil_sen_ignores_one_bad_reading_and_says_when_attention_is_reached() -> None:
    found = trend(RISING)
    assert found is not None
    assert abs(found.cm_per_h - 5.0) < 1e-9
    assert found.low_cm_per_h <= 5.0 <= found.high_cm_per_h
    assert abs(found.level_cm - 480.0) < 1e-9
    code, when = found.next_threshold(GAUGE.thresholds)  # type: ignore[misc]
    assert code is WarningCode.YELLOW
    assert when == END + 4 * HOUR  # 20 cm to 500 at 5 cm/h
    falling = trend([(t, 1000.0 - v) for t, v in RISING])
    assert falling is not None and falling.next_threshold(GAUGE.thresholds) is None
    assert trend(RISING[:2]) is None, "two readings are not a trend"


def test_the_slope_is_per_hour_whatever_the_spacing_of_the_readings() -> None:
    # 6 cm/h read at irregular moments: 10 min, 20 min, 30 min, 40 min apart
    minutes = [0, 10, 30, 60, 100, 130]
    readings = [(END + timedelta(minutes=m), 300.0 + 6 * m / 60) for m in minutes]
    found = trend(readings)
    assert found is not None
    assert found.cm_per_h == pytest.approx(6.0)
    assert (found.start, found.end, found.points) == (readings[0][0], readings[-1][0], 6)
    assert found.level_cm == pytest.approx(313.0)
    # readings every 15 minutes rising 2 cm each: 8 cm/h, not 2 "per reading"
    quarterly = [(END + k * timedelta(minutes=15), 400.0 + 2 * k) for k in range(8)]
    assert trend(quarterly).cm_per_h == pytest.approx(8.0)  # type: ignore[union-attr]


def test_three_readings_are_a_trend_and_one_moment_is_not() -> None:
    half_hourly = [(END + k * timedelta(minutes=30), 500.0 + k) for k in range(3)]
    found = trend(half_hourly)  # exactly three, spanning exactly one hour
    assert found is not None and found.points == 3
    assert found.cm_per_h == pytest.approx(2.0)
    assert trend([(END, 500.0), (END, 501.0), (END, 502.0)]) is None


def test_flat_and_very_slow_trends() -> None:
    flat = trend([(END + k * HOUR, 480.0) for k in range(6)])
    assert flat is not None and flat.cm_per_h == 0.0
    assert flat.next_threshold(GAUGE.thresholds) is None, "a level that does not rise"
    slow = trend([(END + k * HOUR, 480.0 + 0.5 * k) for k in range(6)])
    assert slow is not None and slow.cm_per_h == pytest.approx(0.5)
    code, when = slow.next_threshold(GAUGE.thresholds)  # type: ignore[misc]
    # 482.5 cm at the last reading, 17.5 cm below attention at 0.5 cm/h: 35 hours
    assert code is WarningCode.YELLOW
    assert abs(when - (END + 5 * HOUR + 35 * HOUR)) < timedelta(seconds=1)


def test_the_next_threshold_from_orange_and_none_above_red() -> None:
    orange = trend([(END + k * HOUR, 560.0 + 10 * k) for k in range(3)])
    assert orange is not None
    code, when = orange.next_threshold(GAUGE.thresholds)  # type: ignore[misc]
    assert code is WarningCode.RED and when == END + 2 * HOUR + 7 * HOUR  # 580 -> 650
    red = trend([(END + k * HOUR, 660.0 + 10 * k) for k in range(3)])
    assert red is not None and red.next_threshold(GAUGE.thresholds) is None


def test_the_confidence_interval_is_sens_90_percent_interval() -> None:
    """Sen (1968), eq. 2.6 without ties: with N pairwise slopes in increasing order and
    C = z(0.95) * sqrt(n (n - 1) (2n + 5) / 18), the interval runs from the M1-th to the
    (M2 + 1)-th slope, M1 = (N - C) / 2 and M2 = (N + C) / 2."""
    hours = [0, 0.5, 1.25, 2, 3, 3.5, 4.75, 6, 6.5, 7.25, 8.5, 9]
    noise = [0.8, -1.1, 0.3, 1.9, -0.7, 0.2, -1.6, 1.2, -0.4, 0.9, -1.3, 0.6]
    points = [(h, 400 + 5 * h + e) for h, e in zip(hours, noise, strict=True)]
    slopes = sorted((y2 - y1) / (x2 - x1) for (x1, y1), (x2, y2) in combinations(points, 2))
    n, big_n = len(points), len(slopes)
    c = NormalDist().inv_cdf(0.95) * (n * (n - 1) * (2 * n + 5) / 18) ** 0.5
    low, high = slopes[round((big_n - c) / 2) - 1], slopes[round((big_n + c) / 2)]
    found = trend([(END + timedelta(hours=h), level) for h, level in points])
    assert found is not None
    assert (found.low_cm_per_h, found.high_cm_per_h) == pytest.approx((low, high))
    assert low < found.cm_per_h < high


def test_gauges_endpoint_gives_the_trend_labelled_as_such(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        readings = [Reading(GAUGE.device_id, "water_level", t, v) for t, v in RISING]
        ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
    with signed_in(create_app(Settings(), pg_url), pg_url) as client:
        (gauge,) = client.get("/river/gauges").json()["gauges"]
    assert gauge["level"]["cm"] == 480.0
    assert gauge["level"]["surface_m"] == GAUGE.zero_m + 4.8
    assert gauge["trend"]["kind"] == "trend, not a forecast"
    assert gauge["trend"]["cm_per_h"] == 5.0
    assert gauge["trend"]["next_threshold"] == {
        "code": "yellow",
        "reached_at": (END + 4 * HOUR).isoformat(),
    }
    assert "danger_cm" in gauge["illustrative"]
