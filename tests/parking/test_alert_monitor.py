"""The parking alert monitor on real PostgreSQL: a lot's readings over half an hour, the
alerts it raises and resolves through the engine, and a restart that repeats nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import AsyncConnection

from alerts.model import Escalation
from alerts.monitor import AlertMonitor
from parking.alert_monitor import LotConditions
from tests.parking import alert_lot
from tests.parking.alert_lot import LOT, RULES

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
ESCALATION = Escalation(("parking-operator",), timedelta(minutes=30), timedelta(minutes=15))


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_full_lot_then_a_drifting_counter_raise_and_resolve_through_the_engine(
    pg_url: str,
) -> None:
    alert_lot.create(pg_url)
    # (minute, bays, counter, evaluated at)
    script = [
        (0, [1, 1, 1, 1], 4, 0.5),  # full: the fill wait starts
        (9, [1, 1, 1, 1], 4, 10.5),  # ten minutes full: raised
        (11, [1, 0, 0, 0], 4, 11.5),  # 25 %: resolved; the counter drifts by 3
        (14, [1, 0, 0, 0], 4, 14.5),
        (16, [1, 0, 0, 0], 4, 16.5),  # five minutes beyond ±2: raised
        (20, [1, 0, 0, 0], 4, 20.5),
    ]
    clock = [_at(0)]
    monitor = AlertMonitor(pg_url, LotConditions(RULES, ESCALATION), clock=lambda: clock[0])
    events: list[tuple[float, list[int]]] = []

    async def evaluate(minute: float, fresh: AlertMonitor | None = None) -> list[int]:
        clock[0] = _at(minute)
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            if fresh is not None:
                await fresh.resume(conn)
                return await fresh.evaluate(conn)
            return await monitor.evaluate(conn)

    for minute, bays, counter, evaluated in script:
        alert_lot.report(pg_url, _at(minute), bays, counter)
        events.append((evaluated, asyncio.run(evaluate(evaluated))))
    # a restarted monitor takes the open drift alert up again: nothing raised twice
    restarted = AlertMonitor(pg_url, LotConditions(RULES, ESCALATION), clock=lambda: clock[0])
    assert asyncio.run(evaluate(21, restarted)) == []

    assert [m for m, found in events if found] == [10.5, 11.5, 16.5]
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT subject_id, kind, state, raised_at, resolved_at, value FROM alerts"
            " WHERE domain = 'parking' ORDER BY alert_id"
        ).fetchall()
        documents = conn.execute(
            "SELECT e.document->>'type', e.document->>'lot_id', o.channel FROM alert_events e"
            " JOIN alert_outbox o USING (event_id) ORDER BY e.event_id"
        ).fetchall()
    assert rows == [
        (LOT, "fill", "resolved", _at(10.5), _at(11.5), 25.0),
        (LOT, "drift", "active", _at(16.5), None, 3.0),
    ]
    # each event is owed to MQTT (the engine's dispatcher delivers it)
    assert documents == [
        ("parking.alert.raised", LOT, "mqtt"),
        ("parking.alert.resolved", LOT, "mqtt"),
        ("parking.alert.raised", LOT, "mqtt"),
    ]
