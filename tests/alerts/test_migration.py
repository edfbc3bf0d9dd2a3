"""Migration 0010 moves the river monitor's alert tables into the engine's, rows and ids
kept: an event's id is the idempotency key its receivers have already seen."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import psycopg
import pytest
from psycopg import AsyncConnection

from alerts import store
from alerts.model import Condition
from demo_town.river import DEMO
from storage import migrations

T0 = datetime(2026, 4, 2, 6, tzinfo=UTC)
GAUGE = DEMO.gauges[0].device_id
DOCUMENT = {"id": "river-event-41", "type": "river.alert.raised", "gauge_id": GAUGE}


def _river_rows(conn: psycopg.Connection) -> None:
    """Alerts as the river monitor of 0009 left them: a resolved one and an open one,
    events numbered from 40, one delivery still owed."""
    conn.execute(
        "INSERT INTO river_alerts (alert_id, gauge_id, kind, severity, peak_severity, state,"
        " raised_at, resolved_at, contact_level, contact_since, reminded_at, value, detail)"
        " VALUES (7, %(g)s, 'spike', 1, 1, 'resolved', %(t)s, %(t)s, 0, %(t)s, %(t)s, 950,"
        " '{\"suspect_cm\": 950}'),"
        " (8, %(g)s, 'level', 2, 3, 'acknowledged', %(t)s, NULL, 1, %(t)s, %(t)s, 556, '{}')",
        {"g": GAUGE, "t": T0},
    )
    conn.execute(
        "INSERT INTO river_alert_events (event_id, alert_id, action, at, document)"
        " VALUES (40, 7, 'raised', %s, '{}'), (41, 8, 'raised', %s, %s)",
        (T0, T0, json.dumps(DOCUMENT)),
    )
    conn.execute(
        "INSERT INTO river_outbox (event_id, channel, attempts, delivered_at, last_error)"
        " VALUES (40, 'mqtt', 1, now(), NULL), (41, 'webhook:duty', 3, NULL, 'HTTP 503')"
    )


def test_the_river_alerts_move_with_their_ids(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(pg_url) as conn:
        with monkeypatch.context() as before:
            before.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:9])
            migrations.upgrade(conn)
        _river_rows(conn)
        conn.commit()
        assert 10 in migrations.upgrade(conn)
        gone = conn.execute(
            "SELECT to_regclass('river_alerts'), to_regclass('river_alert_events'),"
            " to_regclass('river_outbox')"
        ).fetchone()
        assert gone == (None, None, None)
        alerts = conn.execute(
            "SELECT alert_id, domain, subject_id, kind, severity, peak_severity, state,"
            " contact_level, value, detail, message FROM alerts ORDER BY alert_id"
        ).fetchall()
        events = conn.execute(
            "SELECT event_id, alert_id, document FROM alert_events ORDER BY event_id"
        ).fetchall()
        owed = conn.execute(
            "SELECT domain, channel, event_id, attempts, delivered_at IS NOT NULL, last_error"
            " FROM alert_outbox ORDER BY event_id"
        ).fetchall()
        # the file again: nothing left to move, nothing changed
        conn.execute(resources.files("storage").joinpath("sql", "0010_alerts.sql").read_text())
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (2,)
    assert alerts == [
        (7, "river", GAUGE, "spike", 1, 1, "resolved", 0, 950.0, {"suspect_cm": 950}, ""),
        (8, "river", GAUGE, "level", 2, 3, "acknowledged", 1, 556.0, {}, ""),
    ]
    assert events == [(40, 7, {}), (41, 8, DOCUMENT)]
    assert owed == [
        ("river", "mqtt", 40, 1, True, None),
        ("river", "webhook:duty", 41, 3, False, "HTTP 503"),
    ]

    async def next_ids() -> tuple[list[int], list[dict[str, object]]]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            source = DEMO.alert_source
            async with conn.transaction():
                rise = Condition(GAUGE, "rise", 1, T0 + timedelta(hours=1), 560.0)
                events = await store.apply(conn, source, rise, T0)
            return events, await store.listing(conn, source, which="open")

    events_after, open_alerts = asyncio.run(next_ids())
    assert events_after == [42], "event ids go on from the river's"
    assert [(a["alert_id"], a["kind"]) for a in open_alerts] == [(9, "rise"), (8, "level")]
