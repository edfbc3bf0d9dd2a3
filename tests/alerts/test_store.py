"""The alert tables (``alerts/store.py``) on real PostgreSQL, fed by a domain of the
tests' own (car parks): reminders and contact escalation by the clock, deliveries owed
per webhook contact group, documents named after the domain, and domains kept apart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

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


TWO_LOTS = AlertSource(
    "parking",
    "lot",
    {
        "lot-centru": Subject("lot-centru", "Parcare Centru", ESCALATION),
        "lot-gara": Subject("lot-gara", "Parcare Gară", ESCALATION),
    },
)


def _condition(subject: str, kind: str, severity: int, minutes: int) -> Condition:
    return Condition(subject, kind, severity, _at(minutes), float(severity), kind)


def test_listings_select_by_state_subject_and_time_newest_first(pg_url: str) -> None:
    """Four alerts of two lots (two resolved, two open; the first condition raised
    again after it cleared) and one of another domain."""
    changes = [
        ("lot-centru", "full", 1, 0),
        ("lot-gara", "full", 2, 5),
        ("lot-centru", "full", 0, 10),
        ("lot-centru", "closed", 1, 20),
        ("lot-centru", "closed", 0, 30),
        ("lot-centru", "full", 3, 40),
    ]

    async def run() -> dict[str, list[int]]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            for subject, kind, severity, minutes in changes:
                await _apply(conn, TWO_LOTS, _condition(subject, kind, severity, minutes))
            await _apply(conn, AIR, _full(1, 50))

            async def ids(**kwargs: Any) -> list[int]:
                return [a["alert_id"] for a in await store.listing(conn, TWO_LOTS, **kwargs)]

            return {
                "all": await ids(),
                "open": await ids(which="open"),
                "past": await ids(which="past"),
                "gara": await ids(subject_id="lot-gara"),
                "centru past": await ids(which="past", subject_id="lot-centru"),
                "since 30": await ids(since=_at(30)),
                "since 31": await ids(since=_at(31)),
                "first two": await ids(limit=2),
            }

    _migrated(pg_url)
    got = asyncio.run(run())
    centru_full, gara_full, centru_closed, centru_full_again = 1, 2, 3, 4  # in raising order
    assert got == {
        "all": [centru_full_again, centru_closed, gara_full, centru_full],
        "open": [centru_full_again, gara_full],
        "past": [centru_closed, centru_full],
        "gara": [gara_full],
        "centru past": [centru_closed, centru_full],
        # open at or after: resolved at 30 still counts at 30, not after
        "since 30": [centru_full_again, centru_closed, gara_full],
        "since 31": [centru_full_again, gara_full],
        "first two": [centru_full_again, centru_closed],
    }


def test_a_listing_is_bounded_unless_asked_for_more(pg_url: str) -> None:
    kinds = [f"k{i}" for i in range(101)]

    async def run() -> tuple[int, int]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            async with conn.transaction():
                for kind in kinds:
                    await store.apply(conn, PARKING, _condition("lot-centru", kind, 1, 0), T0)
            return len(await store.listing(conn, PARKING)), len(
                await store.listing(conn, PARKING, limit=len(kinds))
            )

    _migrated(pg_url)
    assert asyncio.run(run()) == (100, 101)


def test_an_alert_keeps_its_whole_story(pg_url: str) -> None:
    """Raised, acknowledged, worse, better, cleared: the alert as it ended and each
    event's document as it was then, oldest first."""

    async def run() -> dict[str, Any]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            (raised,) = await _apply(
                conn, PARKING, Condition("lot-centru", "full", 1, _at(0), 95.0, "95%", {"n": 1})
            )
            (alert,) = await store.listing(conn, PARKING)
            acknowledged = await store.acknowledge(
                conn, PARKING, alert["alert_id"], "Ion", "on it", _at(1)
            )
            assert acknowledged["state"] == "acknowledged"
            await _apply(
                conn, PARKING, Condition("lot-centru", "full", 3, _at(2), 100.0, "full", {"n": 2})
            )
            await _apply(
                conn, PARKING, Condition("lot-centru", "full", 2, _at(3), 99.0, "99%", {"n": 3})
            )
            await _apply(conn, PARKING, Condition("lot-centru", "full", 0, _at(4), 50.0, "half"))
            assert await store.event_document(conn, raised + 1000) is None
            return await store.get(conn, PARKING, alert["alert_id"])

    _migrated(pg_url)
    alert = asyncio.run(run())
    history = alert.pop("history")
    stamps = [k for k in alert if k.endswith("_at")] + ["contact_since"]
    times = {k: datetime.fromisoformat(alert.pop(k)) for k in stamps}
    assert times == {
        "raised_at": _at(0),
        "acknowledged_at": _at(1),
        "resolved_at": _at(4),
        "contact_since": _at(2),  # the worse level is answered for from then on
        "reminded_at": _at(2),
    }
    assert alert == {
        "alert_id": 1,
        "lot_id": "lot-centru",
        "kind": "full",
        "severity": 2,  # what it was when it cleared
        "peak_severity": 3,
        "code": "orange",
        "state": "resolved",
        "acknowledged_by": "Ion",
        "ack_note": "on it",
        "contact_level": 0,
        "value": 50.0,
        "detail": {"n": 3},  # clearing says nothing of the details
        "message": "half",
    }
    steps = [
        (d["action"], d["severity"], d["code"], d["state"], d["value"], d["detail"], d["note"])
        for d in history
    ]
    assert steps == [
        ("raised", 1, "yellow", "active", 95.0, {"n": 1}, None),
        ("acknowledged", 1, "yellow", "acknowledged", 95.0, {"n": 1}, "on it"),
        ("escalated", 3, "red", "active", 100.0, {"n": 2}, None),
        ("de-escalated", 2, "orange", "active", 99.0, {"n": 3}, None),
        ("resolved", 2, "orange", "resolved", 50.0, {"n": 3}, None),
    ]
    assert [d["acknowledged_by"] for d in history] == [None, "Ion", "Ion", "Ion", "Ion"]


def test_the_level_an_alert_already_has_is_no_step_but_brings_its_value_up_to_date(
    pg_url: str,
) -> None:
    async def run() -> tuple[list[int], dict[str, Any]]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await _apply(
                conn, PARKING, Condition("lot-centru", "full", 2, _at(0), 95.0, "95%", {"n": 1})
            )
            again = await _apply(
                conn, PARKING, Condition("lot-centru", "full", 2, _at(5), 97.0, "97%", {"n": 2})
            )
            (alert,) = await store.listing(conn, PARKING)
            return again, await store.get(conn, PARKING, alert["alert_id"])

    _migrated(pg_url)
    events, alert = asyncio.run(run())
    assert events == []
    assert [step["action"] for step in alert["history"]] == ["raised"]
    assert (alert["severity"], alert["state"]) == (2, "active")
    assert (alert["value"], alert["message"], alert["detail"]) == (97.0, "97%", {"n": 2})


def test_a_milder_level_stays_acknowledged_and_a_worse_one_restarts_the_clocks(
    pg_url: str,
) -> None:
    """Acknowledged at red, milder: still acknowledged, silent. Worse again: active, and
    the group it had reached gets a full timeout (15 min) and reminders from then."""
    steps = [("change", 0, 3), ("ack", 5, 0), ("change", 6, 1), ("tick", 60, 0)]
    steps += [("change", 70, 2), ("tick", 80, 0), ("tick", 84, 0), ("tick", 85, 0)]

    async def run() -> list[tuple[str, str, str, int, int]]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            for what, minutes, severity in steps:
                if what == "tick":
                    await store.run_timers(conn, PARKING, _at(minutes))
                elif what == "ack":
                    (alert,) = await store.listing(conn, PARKING, which="open")
                    await store.acknowledge(
                        conn, PARKING, alert["alert_id"], "Ion", "", _at(minutes)
                    )
                else:
                    await _apply(conn, PARKING, _full(severity, minutes))
            (alert,) = await store.listing(conn, PARKING)
            history = (await store.get(conn, PARKING, alert["alert_id"]))["history"]
            assert alert["peak_severity"] == 3
            return [
                (e["action"], e["at"], e["contacts"][-1], e["severity"], alert["peak_severity"])
                for e in history
            ]

    _migrated(pg_url)
    assert asyncio.run(run()) == [
        ("raised", _at(0).isoformat(), "duty-officer", 3, 3),
        ("acknowledged", _at(5).isoformat(), "duty-officer", 3, 3),
        ("de-escalated", _at(6).isoformat(), "duty-officer", 1, 3),
        ("escalated", _at(70).isoformat(), "duty-officer", 2, 3),
        ("reminder", _at(80).isoformat(), "duty-officer", 2, 3),
        ("contact-escalated", _at(85).isoformat(), "parking-manager", 2, 3),
    ]


def test_two_people_acknowledging_at_once_one_answers_the_other_is_told(pg_url: str) -> None:
    """The second acknowledgement waits for the first to commit, then sees it; a reader
    waits for neither."""

    async def run() -> None:
        async with (
            await AsyncConnection.connect(pg_url, autocommit=True) as first,
            await AsyncConnection.connect(pg_url, autocommit=True) as second,
            await AsyncConnection.connect(pg_url, autocommit=True) as watcher,
        ):
            await _apply(first, PARKING, _full(1, 0))
            (alert,) = await store.listing(first, PARKING)
            async with first.transaction():
                await store.acknowledge(first, PARKING, alert["alert_id"], "Ion", "", _at(1))
                # a reader does not wait for it: it sees the alert as last committed
                seen = await asyncio.wait_for(store.get(watcher, PARKING, alert["alert_id"]), 10)
                assert seen["state"] == "active"
                late = asyncio.create_task(
                    store.acknowledge(second, PARKING, alert["alert_id"], "Ana", "", _at(1))
                )
                for _ in range(400):  # until the second one waits for a lock
                    waiting = await (
                        await watcher.execute(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    ).fetchone()
                    if waiting == (1,):
                        break
                    await asyncio.sleep(0.05)
                assert not late.done()
            with pytest.raises(AlertConflict, match=r"is acknowledged \(by Ion at "):
                await late
            history = (await store.get(first, PARKING, alert["alert_id"]))["history"]
            assert [e["action"] for e in history] == ["raised", "acknowledged"]

    _migrated(pg_url)
    asyncio.run(run())


def test_a_refused_acknowledgement_says_why(pg_url: str) -> None:
    async def run() -> None:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await _apply(conn, PARKING, _full(1, 0))
            (alert,) = await store.listing(conn, PARKING)
            number = alert["alert_id"]
            await store.acknowledge(conn, PARKING, number, "Ion", "", _at(1))
            with pytest.raises(AlertConflict) as twice:
                await store.acknowledge(conn, PARKING, number, "Ana", "", _at(2))
            assert str(twice.value) == (
                f"alert {number} is acknowledged (by Ion at {_at(1).isoformat()});"
                " only an active alert can be acknowledged"
            )
            await _apply(conn, PARKING, _full(0, 3))
            await _apply(conn, PARKING, _full(1, 4))
            (again, _) = await store.listing(conn, PARKING)
            await _apply(conn, PARKING, _full(0, 5))
            with pytest.raises(AlertConflict) as resolved:
                await store.acknowledge(conn, PARKING, again["alert_id"], "Ana", "", _at(6))
            assert str(resolved.value) == (
                f"alert {again['alert_id']} is resolved; only an active alert can be acknowledged"
            )
            with pytest.raises(AlertNotFound, match="^no parking alert 99$"):
                await store.get(conn, PARKING, 99)

    _migrated(pg_url)
    asyncio.run(run())


def test_open_severities_are_those_of_the_subjects_open_alerts(pg_url: str) -> None:
    async def run() -> dict[str, int]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            for subject, kind, severity, minutes in [
                ("lot-centru", "full", 2, 0),
                ("lot-centru", "closed", 1, 0),
                ("lot-centru", "closed", 0, 1),
                ("lot-centru", "fire", 3, 2),
                ("lot-gara", "full", 1, 0),
            ]:
                await _apply(conn, TWO_LOTS, _condition(subject, kind, severity, minutes))
            return await store.open_severities(conn, TWO_LOTS, "lot-centru")

    _migrated(pg_url)
    assert asyncio.run(run()) == {"full": 2, "fire": 3}


def test_each_channel_delivers_its_oldest_event_first_and_counts_attempts(pg_url: str) -> None:
    outbox = (
        "SELECT channel, event_id, attempts, delivered_at IS NOT NULL, last_error,"
        " round(extract(epoch FROM next_attempt_at - now()))"
        " FROM alert_outbox ORDER BY channel, event_id"
    )

    async def run() -> list[tuple[object, ...]]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            (first,) = await _apply(conn, PARKING, _full(1, 0))
            (second,) = await store.run_timers(conn, PARKING, _at(10))
            heads = {d.channel: d for d in await store.next_deliveries(conn, PARKING)}
            assert {c: (d.event_id, d.attempts) for c, d in heads.items()} == {
                "mqtt": (first, 0),
                "webhook:duty": (first, 0),
            }
            await store.record_attempt(conn, PARKING, heads["mqtt"], error="broker down")
            retried = {d.channel: d for d in await store.next_deliveries(conn, PARKING)}
            assert (retried["mqtt"].event_id, retried["mqtt"].attempts) == (first, 1)
            await store.record_attempt(conn, PARKING, retried["mqtt"])
            await store.record_attempt(
                conn, PARKING, heads["webhook:duty"], error="HTTP 503", retry_in=timedelta(hours=1)
            )
            after = {d.channel: d.event_id for d in await store.next_deliveries(conn, PARKING)}
            assert after == {"mqtt": second, "webhook:duty": first}
            return [tuple(r) for r in await (await conn.execute(outbox)).fetchall()]

    _migrated(pg_url)
    rows = asyncio.run(run())
    assert rows == [
        ("mqtt", 1, 2, True, None, 0),  # refused, due again at once, then delivered
        ("mqtt", 2, 0, False, None, 0),
        ("webhook:duty", 1, 1, False, "HTTP 503", 3600),
        ("webhook:duty", 2, 0, False, None, 0),
    ]


def test_the_timers_pass_over_a_subject_no_longer_watched_and_go_on(pg_url: str) -> None:
    gara_only = AlertSource("parking", "lot", {"lot-gara": TWO_LOTS.subjects["lot-gara"]})

    async def run() -> list[str]:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await _apply(conn, TWO_LOTS, _condition("lot-centru", "full", 1, 0))
            await _apply(conn, TWO_LOTS, _condition("lot-gara", "full", 1, 0))
            reminded = await store.run_timers(conn, gara_only, _at(10))
            return [(await store.event_document(conn, e) or {})["lot_id"] for e in reminded]

    _migrated(pg_url)
    assert asyncio.run(run()) == ["lot-gara"]
