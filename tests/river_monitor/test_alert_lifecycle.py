"""The alert store on real PostgreSQL: reminders and contact escalation by the clock,
deliveries owed per webhook contact group, the live stream, and configuration errors."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import AsyncConnection

from harness.live import served
from river_monitor import alerts
from river_monitor.conditions import Change
from river_monitor.config import DEMO, RiverConfig, RiverConfigError, load
from storage import migrations

T0 = datetime(2026, 4, 2, 6, tzinfo=UTC)
GAUGE = DEMO.gauges[0]  # ack timeout 15 min, reminders every 10 min, three contact groups
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
CONFIG = RiverConfig.model_validate(
    {
        "gauges": [GAUGE.model_dump()],
        "webhooks": [
            {"name": "duty", "url": "http://127.0.0.1:9/", "secret": SECRET,
             "contacts": ["duty-officer"]},
            {"name": "isu", "url": "http://127.0.0.1:9/", "secret": SECRET,
             "contacts": ["isu-teleorman"]},
        ],
    }
)  # fmt: skip


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def _step(conn: AsyncConnection, what: str, minutes: int, severity: int = 0) -> None:
    now = _at(minutes)
    if what == "tick":
        await alerts.run_timers(conn, CONFIG, now)
    elif what == "ack":
        (alert,) = await alerts.listing(conn, which="open")
        await alerts.acknowledge(conn, CONFIG, alert["alert_id"], "dispecer ISU", "", now)
    else:
        async with conn.transaction():
            change = Change(GAUGE.device_id, "level", severity, now, 500.0 + 30 * severity)
            await alerts.apply(conn, CONFIG, change, now)


def test_unacknowledged_alerts_remind_and_escalate_to_the_next_group(pg_url: str) -> None:
    steps = [("change", 0, 1)] + [("tick", m, 0) for m in (5, 10, 15, 22, 30, 45, 60)]
    steps += [("ack", 65, 0), ("tick", 75, 0), ("change", 80, 2), ("tick", 85, 0)]
    steps += [("tick", 90, 0), ("change", 95, 0), ("tick", 120, 0)]

    async def run() -> None:
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            for what, minutes, severity in steps:
                await _step(conn, what, minutes, severity)

    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    asyncio.run(run())
    with psycopg.connect(pg_url) as conn:
        events = conn.execute(
            "SELECT document FROM river_alert_events ORDER BY event_id"
        ).fetchall()
        owed = conn.execute(
            "SELECT channel, array_agg(event_id ORDER BY event_id) FROM river_outbox"
            " GROUP BY channel ORDER BY channel"
        ).fetchall()
    got = [(e["action"], e["at"], e["contacts"][-1], e["state"]) for (e,) in events]
    assert got == [
        ("raised", _at(0).isoformat(), "duty-officer", "active"),
        ("reminder", _at(10).isoformat(), "duty-officer", "active"),
        # 15 min without acknowledgement: the next group; its own clock starts
        ("contact-escalated", _at(15).isoformat(), "clsu-turnu-magurele", "active"),
        ("contact-escalated", _at(30).isoformat(), "isu-teleorman", "active"),
        # no group left: reminders go on, every 10 min
        ("reminder", _at(45).isoformat(), "isu-teleorman", "active"),
        ("reminder", _at(60).isoformat(), "isu-teleorman", "active"),
        ("acknowledged", _at(65).isoformat(), "isu-teleorman", "acknowledged"),
        # acknowledged: silent at 75; a worse level must be answered for again
        ("escalated", _at(80).isoformat(), "isu-teleorman", "active"),
        ("reminder", _at(90).isoformat(), "isu-teleorman", "active"),
        ("resolved", _at(95).isoformat(), "isu-teleorman", "resolved"),
    ]
    ids = [int(e["id"].removeprefix("river-event-")) for (e,) in events]
    assert (
        dict(owed)
        == {
            "mqtt": ids,
            "webhook:duty": ids,  # the first group hears every event
            "webhook:isu": ids[3:],  # ISU from the escalation that reached it
        }
    )


def test_alert_events_reach_open_pages_as_server_sent_events(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    got: list[dict[str, object]] = []
    with served(pg_url) as base, httpx.Client(base_url=base, timeout=20) as client:
        ready = threading.Event()

        def listen() -> None:
            with client.stream("GET", "/river/stream") as stream:
                event = None
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                        if event == "ready":
                            ready.set()
                    elif line.startswith("data: ") and event == "alert":
                        got.append(json.loads(line.removeprefix("data: ")))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert ready.wait(20)

        async def raise_one() -> None:
            async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
                await _step(conn, "change", 0, 2)

        asyncio.run(raise_one())
        listener.join(20)
    assert [(e["action"], e["code"], e["gauge_id"]) for e in got] == [
        ("raised", "orange", GAUGE.device_id)
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[gauges]\n", "not valid TOML"),
        ("gauges = []", "gauges: Tuple should have at least 1 item"),
        (
            '[[gauges]]\ndevice_id = "g"\nname = "G"\nzero_m = 19.5\nattention_cm = 550\n'
            'flood_cm = 500\ndanger_cm = 650\ncontacts = ["duty"]',
            "attention < flood < danger",
        ),
        (
            '[[gauges]]\ndevice_id = "g"\nname = "G"\nzero_m = 19.5\nattention_cm = 500\n'
            'flood_cm = 550\ndanger_cm = 650\ncontacts = ["duty"]\nhysterisis_cm = 5',
            "gauges.0.hysterisis_cm: Extra inputs are not permitted",
        ),
        (
            '[[gauges]]\ndevice_id = "g"\nname = "G"\nzero_m = 19.5\nattention_cm = 500\n'
            'flood_cm = 550\ndanger_cm = 650\ncontacts = ["duty"]\n'
            '[[webhooks]]\nname = "w"\nurl = "http://x.ro/"\nsecret = "hunter2"',
            "webhooks.0.secret: Value error, must be a Standard Webhooks secret",
        ),
    ],
)
def test_a_bad_configuration_says_where_and_why(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "river.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RiverConfigError, match=f"river.toml: .*{says}"):
        load(path)
    with pytest.raises(RiverConfigError, match="cannot be read"):
        load(tmp_path / "missing.toml")
