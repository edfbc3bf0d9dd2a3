"""The dead-letter store: payloads kept to 256 KiB, repeats counted, retention, and
migration 14 keeping (and merging) the letters stored before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest_mqtt.decode import Incoming, decode
from storage import dead_letters, migrations
from storage.dead_letters import DeadLetter
from storage.readings import ReadingWriter

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOPIC = "city/devices/gauge-1/json"
KEEP = 256 * 1024


def _decoded(*messages: tuple[str, bytes, datetime]) -> list[DeadLetter]:
    incoming = [Incoming(topic, payload, 0, 1, at) for topic, payload, at in messages]
    registry = {"gauge-1": frozenset({"water_level"}), "gauge-2": frozenset({"water_level"})}
    return decode(incoming, "city", registry.get).dead_letters


def _rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT topic, count, first_seen, last_seen, payload_bytes, octet_length(payload)"
        " FROM dead_letters ORDER BY id"
    ).fetchall()


def test_a_repeated_letter_is_counted_rather_than_stored_again(pg_url: str) -> None:
    minute = timedelta(minutes=1)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        writer = ReadingWriter(migrations.readings_storage(conn))
        # twice in one batch, once in the next, and the same bytes on another topic
        writer.write(conn, [], _decoded((TOPIC, b"{oops", T0 + minute), (TOPIC, b"{oops", T0)))
        writer.write(conn, [], _decoded((TOPIC, b"{oops", T0 + 2 * minute)))
        other = "city/devices/gauge-2/json"
        writer.write(conn, [], _decoded((other, b"{oops", T0)))
        conn.commit()
        assert _rows(conn) == [
            (TOPIC, 3, T0, T0 + 2 * minute, 5, 5),
            (other, 1, T0, T0, 5, 5),
        ]


def test_a_letter_differs_by_reason_and_record_too(pg_url: str) -> None:
    letters = [
        DeadLetter.of(TOPIC, b"[1, 2]", "value out of bounds", T0, 0),
        DeadLetter.of(TOPIC, b"[1, 2]", "value out of bounds", T0, 1),
        DeadLetter.of(TOPIC, b"[1, 2]", "unknown unit", T0, 1),
        DeadLetter.of(TOPIC, b"[1, 2]", "unknown unit", T0, 1),
    ]
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        dead_letters.write(conn, letters)
        counts = conn.execute("SELECT count FROM dead_letters ORDER BY id").fetchall()
    assert counts == [(1,), (1,), (2,)]


def test_an_oversize_payload_keeps_its_first_256_kib_and_its_size(pg_url: str) -> None:
    payload = b"[" + b"7," * (150 * 1024) + b"7]"
    [letter] = _decoded((TOPIC, payload, T0))
    assert letter.reason == f"payload of {len(payload)} bytes exceeds {KEEP}"
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        dead_letters.write(conn, [letter])
        kept, size = conn.execute("SELECT payload, payload_bytes FROM dead_letters").fetchone()
    assert (kept, size) == (payload[:KEEP], len(payload))


def test_purge_deletes_the_letters_not_seen_within_the_retention(pg_url: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        dead_letters.write(
            conn,
            [
                DeadLetter.of("t/old", b"x", "r", now - timedelta(days=40)),
                DeadLetter.of("t/seen-again", b"x", "r", now - timedelta(days=40)),
                DeadLetter.of("t/seen-again", b"x", "r", now - timedelta(days=2)),
                DeadLetter.of("t/recent", b"x", "r", now - timedelta(days=29)),
            ],
        )
        assert dead_letters.purge(conn, timedelta(days=30)) == 1
        kept = conn.execute("SELECT topic FROM dead_letters ORDER BY topic").fetchall()
    assert kept == [("t/recent",), ("t/seen-again",)]


_OLD_INSERT = (
    "INSERT INTO dead_letters (received_at, topic, payload, reason, record_index)"
    " VALUES (%s, %s, %s, %s, %s)"
)


def test_migration_14_keeps_the_letters_merging_the_repeated_ones(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = b"\xff" * (KEEP + 1000)
    before_14 = tuple(m for m in migrations.MIGRATIONS if m.version < 14)
    with psycopg.connect(pg_url) as conn:
        with monkeypatch.context() as patch:
            patch.setattr(migrations, "MIGRATIONS", before_14)
            migrations.upgrade(conn)
        for row in [
            (T0, TOPIC, b"{oops", "malformed JSON", None),
            (T0 + timedelta(hours=1), TOPIC, b"{oops", "malformed JSON", None),
            (T0 + timedelta(hours=2), TOPIC, b"{oops", "malformed JSON", 3),
            (T0, TOPIC, huge, "payload is not UTF-8", None),
        ]:
            conn.execute(_OLD_INSERT, row)
        conn.commit()
        assert migrations.upgrade(conn)[0] == 14  # and those after it
        rows = conn.execute(
            "SELECT count, first_seen, last_seen, record_index, payload_bytes, payload"
            " FROM dead_letters ORDER BY id"
        ).fetchall()
        assert rows == [
            (2, T0, T0 + timedelta(hours=1), None, 5, b"{oops"),
            (1, T0 + timedelta(hours=2), T0 + timedelta(hours=2), 3, 5, b"{oops"),
            (1, T0, T0, None, len(huge), huge[:KEEP]),
        ]
        # the same letter arriving after the migration is counted on its old row
        later = T0 + timedelta(days=1)
        dead_letters.write(conn, [DeadLetter.of(TOPIC, b"{oops", "malformed JSON", later)])
        dead_letters.write(
            conn, [DeadLetter.of(TOPIC, huge, "payload is not UTF-8", later, None, KEEP)]
        )
        counts = conn.execute("SELECT count, last_seen FROM dead_letters ORDER BY id").fetchall()
        assert counts == [(3, later), (1, T0 + timedelta(hours=2)), (2, later)]
