"""A gauge's clock running ahead cannot hide a flood: the monitor on a real database, fed
by the ingestion writer, with a few normal levels dated five minutes ahead followed by
the genuine 700 cm readings of now. The danger alert fires; the wrong clock is an alert
of its own and a log line naming the gauge."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from demo_town.river import DEMO
from river_monitor.monitor import Monitor
from storage import migrations
from storage.devices import Device, register
from storage.readings import Reading, ReadingWriter

pytestmark = pytest.mark.integration

GAUGE = DEMO.gauges[0]  # attention 500, flood 550, danger 650 cm
DEADLINE_S = 60.0
"""For each wait: far beyond a quiet machine's second, so that only a hang fails."""
AHEAD = timedelta(minutes=5)


def _write(url: str, levels: list[tuple[datetime, float]]) -> None:
    """Commit readings as the ingestion worker does (which announces them)."""
    with psycopg.connect(url) as conn:
        writer = ReadingWriter(migrations.readings_storage(conn))
        readings = [Reading(GAUGE.device_id, GAUGE.quantity, t, v) for t, v in levels]
        writer.write(conn, readings)


def _alerts(url: str, kind: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT severity, state, value, message, detail FROM alerts"
            " WHERE domain = 'river' AND subject_id = %s AND kind = %s ORDER BY alert_id",
            (GAUGE.device_id, kind),
        ).fetchall()
    keys = ("severity", "state", "value", "message", "detail")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _state(url: str) -> tuple[datetime | None, datetime]:
    """The monitor's place in the gauge's readings, and when it last read one."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT last_time, last_arrival FROM river_gauge_state WHERE gauge_id = %s",
            (GAUGE.device_id,),
        ).fetchone()
    epoch = datetime.min.replace(tzinfo=UTC)
    return (None, epoch) if row is None else (row[0], row[1] or epoch)


async def _until(predicate: Any) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def _scenario(url: str) -> None:
    stop = asyncio.Event()
    monitor = asyncio.create_task(Monitor(url, DEMO, tick_s=0.2).run(stop))
    try:
        start = datetime.now(UTC) - timedelta(hours=1)
        history = [(start + timedelta(minutes=15 * k), 300.0 + k) for k in range(4)]
        await asyncio.to_thread(_write, url, history)

        await _until(lambda: _state(url)[0] == history[-1][0])

        # a few normal levels dated five minutes ahead, read by the monitor ...
        for k in range(3):
            sent = datetime.now(UTC)
            await asyncio.to_thread(_write, url, [(sent + AHEAD, 303.0 + k)])
            await asyncio.sleep(0.3)
        await _until(lambda: _state(url)[1] >= sent)
        # ... then the genuine 700 cm readings of now
        for _ in range(3):
            await asyncio.to_thread(_write, url, [(datetime.now(UTC), 700.0)])
            await asyncio.sleep(0.3)
        await _until(lambda: any(a["severity"] == 3 for a in _alerts(url, "level")))
    finally:
        stop.set()
        await asyncio.wait_for(monitor, DEADLINE_S)


def test_readings_dated_ahead_do_not_hide_a_flood(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="river_monitor.monitor")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(conn, [Device(GAUGE.device_id, "river_gauge", (GAUGE.quantity,))])
    asyncio.run(_scenario(pg_url))

    (level,) = _alerts(pg_url, "level")
    assert (level["severity"], level["state"], level["value"]) == (3, "active", 700.0)
    assert level["message"] == "700 cm: red, danger level (650 cm) reached"

    (clock,) = _alerts(pg_url, "clock")  # raised by the first, cleared by genuine ones
    assert clock["state"] == "resolved"
    assert clock["message"] == "readings dated in time again"
    with psycopg.connect(pg_url) as conn:
        raised = conn.execute(
            "SELECT e.document FROM alert_events e JOIN alerts a USING (alert_id)"
            " WHERE a.kind = 'clock' AND e.action = 'raised'"
        ).fetchone()
    assert raised is not None
    ahead_s = raised[0]["detail"]["ahead_s"]
    assert AHEAD.total_seconds() - 5 < ahead_s <= AHEAD.total_seconds(), raised[0]

    # the river monitor's own warnings (other tests' background tasks may log too)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name.startswith("river_monitor")
    ]
    assert len(warnings) == 3, warnings
    assert all(m.startswith(f"gauge {GAUGE.device_id}: reading of 30") for m in warnings)
    assert all("its clock runs ahead" in m for m in warnings)
