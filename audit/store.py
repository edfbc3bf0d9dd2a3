"""The audit log table: append to the chain, read it back newest first, verify it.

Appends from every API process form one chain because each takes a transaction-scoped
advisory lock before it reads the chain's head, and holds it until its row is
committed: the next appender then reads that row as its head. An advisory lock rather
than ``LOCK TABLE``: locking the table for writes needs UPDATE, DELETE or TRUNCATE
rights on it, which the API's role must not have, while an advisory lock needs none; and
rather than a sequence, whose numbers are lost by a rolled-back append and would leave
gaps that could not be told from removed rows. The time of a row is the database's
clock, read under the lock: one clock for all processes, and times that never go back
along the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from audit.chain import GENESIS, Action, Entry, Row, row_hash
from audit.errors import AuditLogMissing

# Any fixed 64-bit number, distinct from the migrations' (storage/migrations.py).
_APPEND_LOCK_KEY = 0x5C17_A0D1_7106

_COLUMNS = (
    "audit_id, at, action, http_method, route, outcome, subject, roles, auth_method, client,"
    " remote_addr, target, summary, prev_hash, hash"
)

_HEAD = (
    "SELECT clock_timestamp(), head.audit_id, head.hash FROM (SELECT 1) AS one"
    " LEFT JOIN LATERAL (SELECT audit_id, hash FROM audit_log"
    " ORDER BY audit_id DESC LIMIT 1) AS head ON true"
)


async def record(conn: AsyncConnection, entry: Entry) -> Row:
    """Append ``entry`` to the chain; its row, committed on return unless ``conn`` is in
    a transaction of the caller's (then with that transaction)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK_KEY,))
        head = await (await conn.execute(_HEAD)).fetchone()
        assert head is not None
        at, last_id, last_hash = head
        audit_id = (last_id or 0) + 1
        prev_hash = last_hash or GENESIS
        digest = row_hash(audit_id, at, entry, prev_hash)
        await conn.execute(
            f"INSERT INTO audit_log ({_COLUMNS}) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                audit_id,
                at,
                entry.action,
                entry.http_method,
                entry.route,
                entry.outcome,
                entry.subject,
                list(entry.roles),
                entry.auth_method,
                entry.client,
                entry.remote_addr,
                Jsonb(entry.target),
                entry.summary,
                prev_hash,
                digest,
            ),
        )
    return Row(audit_id, at, entry, prev_hash, digest)


def _row(raw: Sequence[Any]) -> Row:
    (audit_id, at, action, http_method, route, outcome, subject, roles, auth_method) = raw[:9]
    client, remote_addr, target, summary, prev_hash, digest = raw[9:]
    entry = Entry(
        action=action,
        http_method=http_method,
        route=route,
        outcome=outcome,
        subject=subject,
        roles=tuple(roles),
        auth_method=auth_method,
        client=client,
        remote_addr=remote_addr,
        target=target,
        summary=summary,
    )
    return Row(audit_id, at, entry, prev_hash, digest)


@dataclass(frozen=True)
class Filters:
    """Which rows a reader asks for; None matches any. ``start`` and ``end`` bound the
    time as ``[start, end)``."""

    subject: str | None = None
    route: str | None = None
    outcome: int | None = None
    action: Action | None = None
    start: datetime | None = None
    end: datetime | None = None


_WHERE = """ WHERE (%(subject)s::text IS NULL OR subject = %(subject)s)
AND (%(route)s::text IS NULL OR route = %(route)s)
AND (%(outcome)s::smallint IS NULL OR outcome = %(outcome)s)
AND (%(action)s::text IS NULL OR action = %(action)s)
AND (%(start)s::timestamptz IS NULL OR at >= %(start)s)
AND (%(end)s::timestamptz IS NULL OR at < %(end)s)
AND (%(before)s::bigint IS NULL OR audit_id < %(before)s) """


async def page(
    conn: AsyncConnection, filters: Filters, before: int | None, limit: int
) -> tuple[list[Row], int | None]:
    """Rows matching ``filters`` with ids below ``before``, newest first, at most
    ``limit``; and the ``before`` of the next page (None on the last)."""
    params = {
        "subject": filters.subject,
        "route": filters.route,
        "outcome": filters.outcome,
        "action": filters.action,
        "start": filters.start,
        "end": filters.end,
        "before": before,
        "limit": limit + 1,
    }
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log {_WHERE} ORDER BY audit_id DESC LIMIT %(limit)s",
        params,
    )
    rows = [_row(raw) for raw in await cur.fetchall()]
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].audit_id
    return rows, None


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold: the row to look at, and what is wrong."""

    audit_id: int
    problem: str


@dataclass(frozen=True)
class Verdict:
    """The chain walked from its first row: how many rows, its head (id and hash; None
    when empty) and the first break, if any."""

    rows: int
    head: tuple[int, str] | None
    broken: Break | None


def _check(row: Row, expected_id: int, prev_hash: str) -> Break | None:
    """What is wrong with ``row`` if it should carry ``expected_id`` and follow a row
    whose hash is ``prev_hash``."""
    if row.audit_id > expected_id:
        gap = (
            f"row {expected_id} was"
            if row.audit_id == expected_id + 1
            else f"rows {expected_id} to {row.audit_id - 1} were"
        )
        return Break(expected_id, f"{gap} removed (the next row is {row.audit_id})")
    if row.audit_id < expected_id:  # only before the first row: ids are unique
        return Break(row.audit_id, f"row {row.audit_id} was inserted before the first row")
    if row.hash != row_hash(row.audit_id, row.at, row.entry, row.prev_hash):
        return Break(row.audit_id, f"row {row.audit_id} was altered: it no longer matches its hash")
    if row.prev_hash != prev_hash:
        if row.audit_id == 1:
            return Break(1, "row 1 was altered: it links to a row before the first")
        return Break(
            row.audit_id - 1,
            f"row {row.audit_id - 1} was altered or replaced and its hash recomputed:"
            f" row {row.audit_id} links to another hash",
        )
    return None


def verify(conn: psycopg.Connection) -> Verdict:
    """Walk the chain from its first row (streamed: the log may be large) and report the
    first row altered, inserted or removed. Rows removed at the end cannot be seen from
    the chain alone: compare the head with one kept elsewhere.

    Raises :class:`AuditLogMissing` if the database has no audit log."""
    exists = conn.execute("SELECT to_regclass('audit_log') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        raise AuditLogMissing("this database has no audit log: run `smartcity db upgrade`")
    expected_id, prev_hash, count = 1, GENESIS, 0
    with conn.transaction(), conn.cursor(name="audit_verify") as cur:
        cur.itersize = 5000
        cur.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY audit_id")
        for raw in cur:
            row = _row(raw)
            broken = _check(row, expected_id, prev_hash)
            if broken is not None:
                return Verdict(count, None, broken)
            expected_id, prev_hash, count = row.audit_id + 1, row.hash, count + 1
    return Verdict(count, (expected_id - 1, prev_hash) if count else None, None)
