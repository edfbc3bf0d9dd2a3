"""The ingest writer's ``readings_changed`` notifications on real PostgreSQL: a batch
names every device it changed, in as many notifications as the devices need, never
``*`` (which made every API process re-read its whole twin)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from storage import migrations
from storage.readings import CHANGED_CHANNEL, NOTIFY_MAX, Reading, ReadingWriter, changed_payloads

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 5, 12, tzinfo=UTC)


def _devices(payloads: list[str]) -> list[str]:
    return [d for p in payloads for d in p.split(",")]


def test_payloads_list_every_device_once_within_the_limit() -> None:
    # 128 characters: the longest id the topic contract accepts
    devices = [f"{k:0128d}" for k in range(400)] + ["b", "a", "a"]
    payloads = changed_payloads(devices)
    assert len(payloads) == 7  # 402 ids; 61 of the long ones fill a payload
    assert all(len(p.encode()) <= NOTIFY_MAX for p in payloads)
    assert _devices(payloads) == sorted(set(devices))
    assert changed_payloads(["x"]) == ["x"]
    assert changed_payloads([]) == []


def test_a_batch_of_many_devices_is_announced_in_full(pg_url: str) -> None:
    devices = [f"da{k:06d}" for k in range(2500)]  # 22,500 bytes listed: three payloads
    readings = [Reading(d, q, T0, 1.0) for d in devices for q in ("occupied", "free_spaces")]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        with psycopg.connect(pg_url, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANGED_CHANNEL}")
            ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
            got = [n.payload for n in listener.notifies(timeout=2)]
    assert len(got) == 3
    assert "*" not in got
    assert _devices(got) == devices
