"""The dead-letter store: what ingestion refused, counted, bounded in size and in time.

A dead letter keeps at most the first ``keep_bytes`` of its payload (ingestion passes
its limit for accepted payloads, 256 KiB) with the original size. A letter identical to
one stored — same payload, topic, reason and record index: its :func:`fingerprint` — is
counted (``count``, ``first_seen``, ``last_seen``) rather than stored again, so a device
repeating one bad pack every second costs one row. Letters not seen for the retention
period are deleted by the ingest worker (:func:`purge`). Pages are cut by payload bytes
as well as by count (:func:`page`), newest first, by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg


def fingerprint(payload_digest: bytes, topic: str, reason: str, record_index: int | None) -> bytes:
    """A letter's identity: SHA-256 over the payload's SHA-256, then topic, reason and record
    index (decimal, empty for none), each after a NUL (which text cannot hold). Migration
    14 computes the same in SQL for the letters stored before it."""
    index = "" if record_index is None else str(record_index)
    return hashlib.sha256(
        payload_digest + "\x00".join(("", topic, reason, index)).encode()
    ).digest()


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message, or one record of it, that could not be stored, with the reason.

    ``payload`` is what is kept of it (see :meth:`of`); ``payload_bytes`` its original
    size."""

    topic: str
    payload: bytes
    reason: str
    received_at: datetime
    record_index: int | None
    payload_bytes: int
    fingerprint: bytes

    @classmethod
    def of(
        cls,
        topic: str,
        payload: bytes,
        reason: str,
        received_at: datetime,
        record_index: int | None = None,
        keep_bytes: int | None = None,
        payload_digest: bytes | None = None,
    ) -> DeadLetter:
        """A letter keeping the first ``keep_bytes`` of ``payload`` (all by default);
        ``payload_digest`` is its SHA-256, when the caller has it (one message, several
        refused records)."""
        digest = payload_digest or hashlib.sha256(payload).digest()
        return cls(
            topic,
            payload if keep_bytes is None else payload[:keep_bytes],
            reason,
            received_at,
            record_index,
            len(payload),
            fingerprint(digest, topic, reason, record_index),
        )


# A letter already stored is counted. Rows of one batch are merged first (ON CONFLICT
# cannot touch a row twice in one statement) and sorted by fingerprint, so that two
# workers upserting the same letters lock them in the same order.
_UPSERT = """
INSERT INTO dead_letters AS d (fingerprint, first_seen, last_seen, count, topic, payload,
                               payload_bytes, reason, record_index)
SELECT * FROM unnest(%s::bytea[], %s::timestamptz[], %s::timestamptz[], %s::bigint[],
                     %s::text[], %s::bytea[], %s::int[], %s::text[], %s::int[])
ON CONFLICT (fingerprint) DO UPDATE SET
    count = d.count + excluded.count,
    first_seen = least(d.first_seen, excluded.first_seen),
    last_seen = greatest(d.last_seen, excluded.last_seen)
"""


def write(conn: psycopg.Connection, letters: Sequence[DeadLetter]) -> None:
    """Store ``letters`` (in the caller's transaction), counting the repeated ones."""
    merged: dict[bytes, tuple[DeadLetter, int, datetime, datetime]] = {}
    for letter in letters:
        held = merged.get(letter.fingerprint)
        if held is None:
            merged[letter.fingerprint] = (letter, 1, letter.received_at, letter.received_at)
        else:
            first, count, earliest, latest = held
            merged[letter.fingerprint] = (
                first,
                count + 1,
                min(earliest, letter.received_at),
                max(latest, letter.received_at),
            )
    rows = [merged[key] for key in sorted(merged)]
    conn.execute(
        _UPSERT,
        (
            [letter.fingerprint for letter, *_ in rows],
            [earliest for _, _, earliest, _ in rows],
            [latest for *_, latest in rows],
            [count for _, count, *_ in rows],
            [letter.topic for letter, *_ in rows],
            [letter.payload for letter, *_ in rows],
            [letter.payload_bytes for letter, *_ in rows],
            [letter.reason for letter, *_ in rows],
            [letter.record_index for letter, *_ in rows],
        ),
    )


def purge(conn: psycopg.Connection, retention: timedelta) -> int:
    """Delete the letters not seen for ``retention``; how many were deleted."""
    return conn.execute(
        "DELETE FROM dead_letters WHERE last_seen < now() - %s", (retention,)
    ).rowcount


@dataclass(frozen=True)
class StoredDeadLetter:
    """A dead letter as stored, with its id for paging."""

    id: int
    first_seen: datetime
    last_seen: datetime
    count: int
    topic: str
    reason: str
    record_index: int | None
    payload_bytes: int
    payload: bytes

    @property
    def truncated(self) -> bool:
        """Whether only the first part of the payload was kept."""
        return len(self.payload) < self.payload_bytes


_WHERE = """
WHERE (%(since)s::timestamptz IS NULL OR last_seen >= %(since)s)
  AND (%(topic)s::text IS NULL OR topic LIKE %(topic)s || '%%')
  AND (%(before)s::bigint IS NULL OR id < %(before)s)
"""
# The running total of payload bytes, newest first, cuts the page; the window runs over
# the rows the LIMIT lets through only, and octet_length reads no TOASTed payload.
_PAGE = (
    """
SELECT id, first_seen, last_seen, count, topic, reason, record_index, payload_bytes, payload
FROM (SELECT *, sum(octet_length(payload)) OVER (ORDER BY id DESC) AS running
      FROM dead_letters"""
    + _WHERE
    + """
      ORDER BY id DESC LIMIT %(limit)s) newest
WHERE running <= %(max_bytes)s
ORDER BY id DESC
"""
)


async def page(
    conn: psycopg.AsyncConnection,
    since: datetime | None,
    topic_prefix: str | None,
    before: int | None,
    limit: int,
    max_bytes: int,
) -> tuple[list[StoredDeadLetter], int]:
    """Dead letters seen at or after ``since``, on topics starting with ``topic_prefix``,
    with ids below ``before``: newest first, at most ``limit`` of them holding at most
    ``max_bytes`` of payload together; and how many match."""
    params = {
        "since": since,
        "topic": topic_prefix,
        "before": before,
        "limit": limit,
        "max_bytes": max_bytes,
    }
    rows = await (await conn.execute(_PAGE, params)).fetchall()
    total = await (
        await conn.execute("SELECT count(*) FROM dead_letters" + _WHERE, params)
    ).fetchone()
    found = [
        StoredDeadLetter(
            id=row[0],
            first_seen=row[1],
            last_seen=row[2],
            count=row[3],
            topic=row[4],
            reason=row[5],
            record_index=row[6],
            payload_bytes=row[7],
            payload=bytes(row[8]),
        )
        for row in rows
    ]
    return found, total[0] if total else 0
