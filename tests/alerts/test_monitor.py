"""The shared alert monitor (``alerts/monitor.py``) on real PostgreSQL, fed by a domain
of the tests' own: the conditions of one tick applied in one transaction (all or none)
and the domain told only once they are committed; a domain without memory of its own
(``changes_only``) raising, escalating and resolving only on a change, a restart
repeating nothing; the open alerts handed to the domain at start; the timers run each
tick; the service stopping when asked."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial

import psycopg
import pytest
from psycopg import AsyncConnection

from alerts import monitor
from alerts.errors import AlertConflict
from alerts.model import AlertSource, Condition, Subject
from ingest_mqtt.publisher import Publisher
from storage import migrations
from tests.alerts.sources import ESCALATION
from tests.subscriber import WAIT_S

T0 = datetime.fromisoformat("2026-04-02T06:00:00+00:00")
LOTS = {"lot-centru": "Parcare Centru", "lot-gara": "Parcare Gara"}


def _source(names: Mapping[str, str]) -> AlertSource:
    return AlertSource("toy", "lot", {i: Subject(i, n, ESCALATION) for i, n in names.items()})


class Scripted:
    """A domain whose conditions are set by the test, tick by tick."""

    subjects = "lots"

    def __init__(self, changes_only: bool) -> None:
        self.changes_only = changes_only
        self.names_now: dict[str, str] = dict(LOTS)
        self.next: list[Condition] = []
        self.committed: list[list[Condition]] = []
        self.resumed: list[dict[str, int]] = []

    def source(self, names: Mapping[str, str]) -> AlertSource:
        return _source(names)

    async def names(self, conn: AsyncConnection) -> Mapping[str, str]:
        return self.names_now

    async def resume(self, conn: AsyncConnection, source: AlertSource) -> None:
        for lot in source.subjects:
            self.resumed.append(await monitor.store.open_severities(conn, source, lot))

    async def judge(self, conn: AsyncConnection, now: datetime) -> monitor.Judged:
        found = list(self.next)
        return monitor.Judged(self.names_now, found, partial(self.committed.append, found))


def _full(lot: str, severity: int, minutes: int, value: float = 100.0) -> Condition:
    return Condition(lot, "full", severity, T0 + timedelta(minutes=minutes), value, "full")


@pytest.fixture
def migrated(pg_url: str) -> str:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    return pg_url


def _alerts(url: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT subject_id, severity, state FROM alerts WHERE domain = 'toy' ORDER BY alert_id"
        ).fetchall()
    return [(str(s), int(v), str(st)) for s, v, st in rows]


def _values(url: str) -> list[float]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT value FROM alerts WHERE domain = 'toy' ORDER BY alert_id"
        ).fetchall()
    return [float(v) for (v,) in rows]


def _actions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT action FROM alert_events e JOIN alerts a USING (alert_id)"
            " WHERE a.domain = 'toy' ORDER BY event_id"
        ).fetchall()
    return [str(a) for (a,) in rows]


def test_a_domain_without_memory_changes_an_alert_only_when_its_severity_changes(
    migrated: str,
) -> None:
    domain = Scripted(changes_only=True)
    clock = [T0]
    watch = monitor.AlertMonitor(migrated, domain, tick_s=60, clock=lambda: clock[0])
    script = [
        (0, [_full("lot-centru", 1, 0), _full("lot-gara", 0, 0)], 1),  # raised; gara clear
        (1, [_full("lot-centru", 1, 1, 120.0)], 0),  # the same severity: not applied
        (2, [_full("lot-centru", 2, 2)], 1),  # escalated
        (3, [_full("lot-centru", 2, 3), _full("lot-gara", 0, 3)], 0),
        (4, [_full("lot-centru", 0, 4)], 1),  # resolved
        (5, [_full("lot-centru", 0, 5)], 0),  # resolved stays resolved
    ]

    async def run() -> list[int]:
        counts = []
        async with await AsyncConnection.connect(migrated, autocommit=True) as conn:
            for minute, conditions, _ in script:
                clock[0] = T0 + timedelta(minutes=minute)
                domain.next = conditions
                counts.append(len(await watch.evaluate(conn)))
            # a restarted monitor repeats nothing
            again = monitor.AlertMonitor(migrated, domain, tick_s=60, clock=lambda: clock[0])
            await again.resume(conn)
            counts.append(len(await again.evaluate(conn)))
        return counts

    assert asyncio.run(run()) == [n for *_, n in script] + [0]
    assert _alerts(migrated) == [("lot-centru", 2, "resolved")]  # keeps its last severity
    assert _actions(migrated) == ["raised", "escalated", "resolved"]
    assert _values(migrated) == [100.0]  # the repeat at 120 was never handed over


def test_a_domain_with_memory_has_every_condition_applied_and_is_told_once_committed(
    migrated: str,
) -> None:
    domain = Scripted(changes_only=False)
    watch = monitor.AlertMonitor(migrated, domain, tick_s=60, clock=lambda: T0)

    async def run() -> None:
        async with await AsyncConnection.connect(migrated, autocommit=True) as conn:
            domain.next = [_full("lot-centru", 1, 0), _full("lot-gara", 2, 0)]
            assert len(await watch.evaluate(conn)) == 2
            # the domain hands the same severity again: applied as it says (its memory
            # decides what is a change, not the monitor), the engine updates the value
            domain.next = [_full("lot-centru", 1, 1, 120.0)]
            assert await watch.evaluate(conn) == []
            # one condition the engine refuses (a lot no longer configured): none of the
            # tick's conditions is applied, and the domain is not told
            domain.next = [_full("lot-gara", 0, 2), _full("lot-nord", 1, 2)]
            with pytest.raises(AlertConflict, match="lot-nord"):
                await watch.evaluate(conn)

    asyncio.run(run())
    assert [len(c) for c in domain.committed] == [2, 1]
    assert _alerts(migrated) == [("lot-centru", 1, "active"), ("lot-gara", 2, "active")]
    assert _actions(migrated) == ["raised", "raised"]
    assert _values(migrated) == [120.0, 100.0]


def test_the_open_alerts_are_handed_to_the_domain_at_start_with_its_subjects(
    migrated: str,
) -> None:
    domain = Scripted(changes_only=True)
    watch = monitor.AlertMonitor(migrated, domain, tick_s=60, clock=lambda: T0)

    async def run() -> None:
        async with await AsyncConnection.connect(migrated, autocommit=True) as conn:
            domain.next = [_full("lot-gara", 2, 0)]
            await watch.evaluate(conn)
            await watch.resume(conn)

    asyncio.run(run())
    assert domain.resumed == [{}, {"full": 2}]  # centru, gara: the source's subjects


def test_the_timers_run_each_tick_with_nothing_to_apply(migrated: str) -> None:
    domain = Scripted(changes_only=True)
    clock = [T0]
    watch = monitor.AlertMonitor(migrated, domain, tick_s=60, clock=lambda: clock[0])

    async def run() -> list[int]:
        async with await AsyncConnection.connect(migrated, autocommit=True) as conn:
            domain.next = [_full("lot-centru", 1, 0)]
            await watch.evaluate(conn)
            domain.next = []
            clock[0] = T0 + ESCALATION.reminder_every
            return await watch.evaluate(conn)

    assert len(asyncio.run(run())) == 1
    assert _actions(migrated) == ["raised", "reminder"]


def test_the_service_judges_each_tick_and_stops_when_asked(migrated: str) -> None:
    domain = Scripted(changes_only=True)
    domain.next = [_full("lot-centru", 1, 0)]
    watch = monitor.AlertMonitor(migrated, domain, tick_s=0.05)
    assert watch.name == "toy alert monitor"

    async def run() -> None:
        stop = asyncio.Event()
        with Publisher("mqtt://127.0.0.1:9", "pub-absent", timeout_s=0.1) as publisher:
            service = asyncio.create_task(monitor.serve(watch, publisher, "test", 0.1, stop))
            while not _alerts(migrated):
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(service, WAIT_S)

    asyncio.run(asyncio.wait_for(run(), WAIT_S))
    assert _alerts(migrated) == [("lot-centru", 1, "active")]
    assert domain.resumed == [{}, {}]
