"""The river's alerts beyond the engine (tests/alerts): the live stream of open pages
through one listening connection, the river's messages, and configuration errors."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import AsyncConnection

from alerts import store
from auth.principal import Role
from demo_town.river import DEMO
from harness.credentials import key_headers
from harness.live import served
from river_monitor.alerting import condition, message
from river_monitor.conditions import Change, Kind
from river_monitor.config import RiverConfigError, load
from storage import migrations

T0 = datetime(2026, 4, 2, 6, tzinfo=UTC)
GAUGE = DEMO.gauges[0]  # attention 500, flood 550, danger 650 cm; rise alert at 3 cm/h
VIEWERS = 200  # twice PostgreSQL's default max_connections


async def _listening(base: str, pg_url: str, viewers: int) -> tuple[list[dict[str, object]], int]:
    """Open ``viewers`` streams, raise one alert once all are ready; what each received
    and how many connections LISTEN to the river's events meanwhile."""
    limits = httpx.Limits(max_connections=viewers + 10)
    duty = key_headers(pg_url, Role.EMERGENCY)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits, headers=duty) as client:
        ready = [asyncio.Event() for _ in range(viewers)]

        async def view(index: int) -> dict[str, object]:
            async with client.stream("GET", "/river/stream") as stream:
                event = None
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                        if event == "ready":
                            ready[index].set()
                    elif line.startswith("data: ") and event == "alert":
                        found: dict[str, object] = json.loads(line.removeprefix("data: "))
                        return found
            raise AssertionError("the stream ended without an alert")

        viewing = [asyncio.create_task(view(i)) for i in range(viewers)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 120)
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query LIKE 'LISTEN %river_events%' AND pid <> pg_backend_pid()"
                )
            ).fetchone()
            assert row is not None
            async with conn.transaction():
                change = Change(GAUGE.device_id, "level", 2, T0, 556.0)
                await store.apply(conn, DEMO.alert_source, condition(GAUGE, change), T0)
        return list(await asyncio.wait_for(asyncio.gather(*viewing), 120)), int(row[0])


def test_alert_events_reach_every_open_page_through_one_listener(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    with served(pg_url) as base:
        got, listeners = asyncio.run(_listening(base, pg_url, VIEWERS))
    assert listeners == 1
    assert len(got) == VIEWERS
    assert {(e["action"], e["code"], e["gauge_id"], e["value"]) for e in got} == {
        ("raised", "orange", GAUGE.device_id, 556.0)
    }


def _change(kind: Kind, severity: int, value: float | None, **detail: object) -> Change:
    return Change(GAUGE.device_id, kind, severity, T0, value, dict(detail))


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_change("level", 1, 503), "503 cm: yellow, attention level (500 cm) reached"),
        (_change("level", 3, 660), "660 cm: red, danger level (650 cm) reached"),
        (_change("level", 0, 489), "489 cm: below the attention level (500 cm)"),
        (_change("rise", 2, 520, cm_per_h=6.5), "rising 6.5 cm/h over 6 h (orange from 6 cm/h)"),
        (_change("rise", 0, 520, cm_per_h=1.2), "rise slowed to 1.2 cm/h"),
        (_change("silence", 3, None, silent_min=241.5), "no reading for 241.5 min"),
        (_change("silence", 0, 480), "readings arrive again"),
        (
            _change("spike", 1, 950, suspect_cm=950, rate_cm_per_h=120, limit_cm_per_h=50),
            "950 cm not believed: 120 cm/h is faster than the river moves (50 cm/h)",
        ),
        (_change("spike", 0, 640, confirmed_by=3), "the jump is real: confirmed by 3 readings"),
        (_change("spike", 0, 600), "readings plausible again"),
        (
            _change("clock", 1, 312, ahead_s=300.2),
            "reading dated 300.2 s after it arrived: the gauge's clock runs ahead; its"
            " readings are taken as of their arrival",
        ),
        (_change("clock", 0, 700), "readings dated in time again"),
    ],
)
def test_each_change_says_what_it_means(change: Change, says: str) -> None:
    assert message(GAUGE, change) == says
    assert condition(GAUGE, change).message == says


def test_the_river_source_names_gauges_and_escalates_as_configured() -> None:
    source = DEMO.alert_source
    assert (source.domain, source.subject, source.channel) == ("river", "gauge", "river_events")
    subject = source.subjects[GAUGE.device_id]
    assert subject.name == "Tr. Măgurele (Dunăre)"
    assert subject.escalation.contacts == GAUGE.contacts
    assert subject.escalation.ack_timeout == timedelta(minutes=GAUGE.ack_timeout_min)
    assert subject.escalation.reminder_every == timedelta(minutes=GAUGE.reminder_every_min)


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
