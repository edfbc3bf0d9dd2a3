"""The alert engine on real PostgreSQL, fed by a domain of the tests' own (car parks):
reminders and contact escalation by the clock, deliveries owed per webhook contact
group, documents named after the domain, and domains kept apart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import AsyncConnection

from alerts import store
from alerts.errors import AlertConflict, AlertNotFound
from alerts.model import AlertSource, Condition, Subject
from storage import migrations
from tests.alerts.sources import ESCALATION, PARKING

T0 = datetime(2026, 4, 2, 6, tzinfo=UTC)
AIR = AlertSource("air", "station", {"lot-centru": Subject("lot-centru", "Aer", ESCALATION)})


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _full(severity: int, minutes: int) -> Condition:
    return Condition("lot-centru", "full", severity, _at(minutes), 100.0, f"{severity}", {})


def _migrated(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)


async def _apply(conn: AsyncConnection, source: AlertSource, condition: Condition) -> list[int]:
    async with conn.transaction():
        return await store.apply(conn, source, condition, condition.at)


def test_unacknowledged_alerts_remind_and_escalate_to_the_next_group(pg_url: str) -> None:
    steps = [("change", 0, 1)] + [("tick", m, 0) for m in (5, 10, 15, 22, 30, 45, 60)]
    steps += [("ack", 65, 0), ("tick", 75, 0), ("change", 80, 2), ("tick", 85, 0)]
    steps += [("tick", 90, 0), ("change", 95, 0), ("tick", 120, 0)]

    async def run() -> None:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            for what, minutes, severity in steps:
                if what == "tick":
                    await store.run_timers(conn, PARKING, _at(minutes))
                elif what == "ack":
                    (alert,) = await store.listing(conn, PARKING, which="open")
                    await store.acknowledge(
                        conn, PARKING, alert["alert_id"], "dispecer", "", _at(minutes)
                    )
                else:
                    await _apply(conn, PARKING, _full(severity, minutes))

    _migrated(pg_url)
    asyncio.run(run())
    with psycopg.connect(pg_url) as conn:
        events = conn.execute("SELECT document FROM alert_events ORDER BY event_id").fetchall()
        owed = conn.execute(
            "SELECT domain, channel, array_agg(event_id ORDER BY event_id) FROM alert_outbox"
            " GROUP BY domain, channel ORDER BY channel"
        ).fetchall()
    got = [(e["action"], e["at"], e["contacts"][-1], e["state"]) for (e,) in events]
    assert got == [
        ("raised", _at(0).isoformat(), "duty-officer", "active"),
        ("reminder", _at(10).isoformat(), "duty-officer", "active"),
        # 15 min without acknowledgement: the next group; its own clock starts
        ("contact-escalated", _at(15).isoformat(), "parking-manager", "active"),
        ("contact-escalated", _at(30).isoformat(), "police", "active"),
        # no group left: reminders go on, every 10 min
        ("reminder", _at(45).isoformat(), "police", "active"),
        ("reminder", _at(60).isoformat(), "police", "active"),
        ("acknowledged", _at(65).isoformat(), "police", "acknowledged"),
        # acknowledged: silent at 75; a worse level must be answered for again
        ("escalated", _at(80).isoformat(), "police", "active"),
        ("reminder", _at(90).isoformat(), "police", "active"),
        ("resolved", _at(95).isoformat(), "police", "resolved"),
    ]
    ids = [int(e["id"].removeprefix("parking-event-")) for (e,) in events]
    assert (
        owed
        == [
            ("parking", "mqtt", ids),
            ("parking", "webhook:duty", ids),  # the first group hears every event
            (
                "parking",
                "webhook:police",
                ids[3:],
            ),  # the police from the escalation that reached it
        ]
    )


def test_documents_and_alerts_are_named_after_the_domain(pg_url: str) -> None:
    async def run() -> tuple[dict[str, object], list[dict[str, object]]]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            (event_id,) = await _apply(conn, PARKING, _full(2, 0))
            document = await store.event_document(conn, event_id)
            assert document is not None
            return document, await store.listing(conn, PARKING)

    _migrated(pg_url)
    document, (alert,) = asyncio.run(run())
    assert document == {
        "id": "parking-event-1",  # a fresh database: the first event of the first alert
        "type": "parking.alert.raised",
        "alert_id": 1,
        "lot_id": "lot-centru",
        "lot_name": "Parcare Centru",
        "kind": "full",
        "action": "raised",
        "at": _at(0).isoformat(),
        "severity": 2,
        "code": "orange",
        "state": "active",
        "value": 100.0,
        "contacts": ["duty-officer"],
        "acknowledged_by": None,
        "note": None,
        "detail": {},
    }
    assert (alert["lot_id"], alert["message"], alert["code"]) == ("lot-centru", "2", "orange")
    assert "domain" not in alert and "subject_id" not in alert


def test_domains_are_kept_apart(pg_url: str) -> None:
    """The same subject id and kind in two domains: two alerts, each domain sees,
    acknowledges, times and notifies only its own."""

    async def run() -> None:
        async with (
            await AsyncConnection.connect(pg_url, autocommit=True) as conn,
            await AsyncConnection.connect(pg_url, autocommit=True) as listener,
        ):
            await listener.execute(f"LISTEN {AIR.channel}")
            (parking_event,) = await _apply(conn, PARKING, _full(1, 0))
            (air_event,) = await _apply(conn, AIR, _full(3, 0))
            notified = [n.payload async for n in listener.notifies(timeout=1.0)]
            assert notified == [str(air_event)]

            (parking,) = await store.listing(conn, PARKING)
            (air,) = await store.listing(conn, AIR)
            assert (parking["severity"], air["severity"]) == (1, 3)
            assert await store.open_severities(conn, PARKING, "lot-centru") == {"full": 1}
            with pytest.raises(AlertNotFound, match=f"no air alert {parking['alert_id']}"):
                await store.acknowledge(conn, AIR, parking["alert_id"], "x", "", _at(1))
            with pytest.raises(AlertNotFound):
                await store.get(conn, PARKING, air["alert_id"])

            # resolving one domain's condition leaves the other's open
            await _apply(conn, PARKING, _full(0, 2))
            assert await store.listing(conn, PARKING, which="open") == []
            assert [a["alert_id"] for a in await store.listing(conn, AIR, which="open")] == [
                air["alert_id"]
            ]
            # timers: only the domain's own alerts
            reminded = await store.run_timers(conn, AIR, _at(10))
            assert len(reminded) == 1
            assert (await store.event_document(conn, reminded[0]) or {})["type"] == (
                "air.alert.reminder"
            )
            assert [d.event_id for d in await store.next_deliveries(conn, AIR)] == [air_event]
            heads = await store.next_deliveries(conn, PARKING)
            assert {(d.channel, d.event_id) for d in heads} == {
                ("mqtt", parking_event),
                ("webhook:duty", parking_event),
            }

    _migrated(pg_url)
    asyncio.run(run())


def test_acknowledging_twice_or_a_subject_no_longer_watched_is_a_conflict(pg_url: str) -> None:
    async def run() -> None:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await _apply(conn, PARKING, _full(1, 0))
            (alert,) = await store.listing(conn, PARKING)
            await store.acknowledge(conn, PARKING, alert["alert_id"], "Ion", "on it", _at(1))
            with pytest.raises(AlertConflict, match=r"is acknowledged \(by Ion at "):
                await store.acknowledge(conn, PARKING, alert["alert_id"], "Ana", "", _at(2))
            gone = AlertSource("parking", "lot", {}, ())
            with pytest.raises(AlertConflict, match="lot 'lot-centru' is no longer configured"):
                await _apply(conn, gone, _full(2, 3))
            assert await store.run_timers(conn, gone, _at(60)) == []

    _migrated(pg_url)
    asyncio.run(run())


@pytest.mark.parametrize("severity", [-1, 4])
def test_a_severity_outside_0_to_3_is_refused(severity: int) -> None:
    with pytest.raises(ValueError, match="severity must be 0"):
        _full(severity, 0)


@pytest.mark.parametrize(("domain", "subject"), [("Parking", "lot"), ("parking", "lot-id")])
def test_names_that_cannot_be_a_channel_or_a_field_are_refused(domain: str, subject: str) -> None:
    with pytest.raises(ValueError, match="lower-case letters, digits and _ only"):
        AlertSource(domain, subject, {})
