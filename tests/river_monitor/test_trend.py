"""The level's trend and when it would reach the next threshold: robust, labelled a trend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from demo_town.river import DEMO
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


def test_gauges_endpoint_gives_the_trend_labelled_as_such(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        readings = [Reading(GAUGE.device_id, "water_level", t, v) for t, v in RISING]
        ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
    with TestClient(create_app(Settings(), pg_url)) as client:
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
