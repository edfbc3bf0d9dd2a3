from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest_mqtt.decode import Incoming
from ingest_mqtt.spool import Spool, SpoolFull

T = datetime(2026, 4, 5, 6, 7, 8, 123000, tzinfo=UTC)


def _batch(n: int, tag: str) -> list[Incoming]:
    return [
        Incoming(f"city/devices/d{i}/json", f"{tag}-{i}".encode() + b"\xff", i, 1, T)
        for i in range(n)
    ]


def test_batches_come_back_in_order_and_whole(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1_000_000)
    spool.append(_batch(3, "a"))
    spool.append(_batch(2, "b"))
    assert spool.batches == 2 and spool.size_bytes > 0
    path, first = spool.oldest()  # type: ignore[misc]
    assert [(m.topic, m.payload, m.received_at) for m in first] == [
        (f"city/devices/d{i}/json", f"a-{i}".encode() + b"\xff", T) for i in range(3)
    ]
    spool.remove(path)
    _, second = spool.oldest()  # type: ignore[misc]
    assert [m.payload for m in second] == [b"b-0\xff", b"b-1\xff"]


def test_reopened_spool_keeps_order_and_drops_torn_writes(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1_000_000)
    spool.append(_batch(1, "old"))
    (tmp_path / "00000000000000000009.tmp").write_bytes(b"half a batch")
    reopened = Spool(tmp_path, max_bytes=1_000_000)
    reopened.append(_batch(1, "new"))
    assert not list(tmp_path.glob("*.tmp"))
    payloads = []
    while (oldest := reopened.oldest()) is not None:
        payloads.append(oldest[1][0].payload)
        reopened.remove(oldest[0])
    assert payloads == [b"old-0\xff", b"new-0\xff"] and reopened.size_bytes == 0


def test_spool_is_bounded(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=200)
    spool.append(_batch(2, "x"))
    with pytest.raises(SpoolFull, match="limit 200"):
        spool.append(_batch(10, "y"))
    assert spool.batches == 1
