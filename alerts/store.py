"""The alert tables: each lifecycle step with its event and the deliveries it owes, and
the alerts read back.

An alert is open (``active``, or ``acknowledged`` once someone answered for it) from
the moment its condition is raised until it clears (``resolved``); a rise in severity
re-opens an acknowledged alert, since the staff must answer for the worse level. Every
change is an event with a JSON document, written in the same transaction as the change
together with one outbox row per channel that owes it (MQTT, and each webhook serving
a contact group already alerted), then announced on the domain's notification channel.
The document's ``id`` is the idempotency key receivers deduplicate on.

Every query is scoped to one domain (an :class:`~alerts.model.AlertSource`): a domain
sees, acknowledges and delivers only its own alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.errors import AlertConflict, AlertNotFound
from alerts.model import CODES, Action, AlertSource, Condition, Listing, Subject

MQTT_CHANNEL = "mqtt"

_COLUMNS = """alert_id, domain, subject_id, kind, severity, peak_severity, state, raised_at,
resolved_at, acknowledged_at, acknowledged_by, ack_note, contact_level, contact_since,
reminded_at, value, detail, message"""


def _subject(source: AlertSource, subject_id: str) -> Subject:
    subject = source.subjects.get(subject_id)
    if subject is None:
        raise AlertConflict(f"{source.subject} {subject_id!r} is no longer configured")
    return subject


def _document(
    source: AlertSource,
    alert: dict[str, Any],
    subject: Subject,
    event_id: int,
    action: Action,
    at: datetime,
) -> dict[str, Any]:
    contacts = list(subject.escalation.contacts[: alert["contact_level"] + 1])
    return {
        "id": f"{source.domain}-event-{event_id}",
        "type": f"{source.domain}.alert.{action}",
        "alert_id": alert["alert_id"],
        source.subject_key: alert["subject_id"],
        f"{source.subject}_name": subject.name,
        "kind": alert["kind"],
        "action": action,
        "at": at.isoformat(),
        "severity": alert["severity"],
        "code": CODES[alert["severity"]],
        "state": alert["state"],
        "value": alert["value"],
        "contacts": contacts,
        "acknowledged_by": alert["acknowledged_by"],
        "note": alert["ack_note"] if action == "acknowledged" else None,
        "detail": alert["detail"],
    }


async def _event(
    conn: AsyncConnection, source: AlertSource, alert: dict[str, Any], action: Action, at: datetime
) -> int:
    """Record an event of ``alert`` (as it now is) and the deliveries it owes."""
    subject = _subject(source, alert["subject_id"])
    row = await (
        await conn.execute(
            "INSERT INTO alert_events (alert_id, action, at, document)"
            " VALUES (%s, %s, %s, '{}') RETURNING event_id",
            (alert["alert_id"], action, at),
        )
    ).fetchone()
    assert row is not None
    event_id = int(row[0])
    document = _document(source, alert, subject, event_id, action, at)
    await conn.execute(
        "UPDATE alert_events SET document = %s WHERE event_id = %s",
        (Jsonb(document), event_id),
    )
    contacts = set(document["contacts"])
    channels = [MQTT_CHANNEL] + [w.channel for w in source.webhooks if w.receives(contacts)]
    await conn.execute(
        "INSERT INTO alert_outbox (domain, event_id, channel) SELECT %s, %s, unnest(%s::text[])",
        (source.domain, event_id, channels),
    )
    await conn.execute("SELECT pg_notify(%s, %s)", (source.channel, str(event_id)))
    return event_id


async def _open_alert(
    conn: AsyncConnection, source: AlertSource, condition: Condition
) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE domain = %s AND subject_id = %s AND kind = %s"
        " AND state <> 'resolved' FOR UPDATE",
        (source.domain, condition.subject_id, condition.kind),
    )
    return await cur.fetchone()


async def _update(conn: AsyncConnection, alert_id: int, **values: Any) -> dict[str, Any]:
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    cur = conn.cursor(row_factory=dict_row)
    params = {k: Jsonb(v) if k == "detail" else v for k, v in values.items()}
    await cur.execute(
        f"UPDATE alerts SET {assignments} WHERE alert_id = %(alert_id)s RETURNING {_COLUMNS}",
        {**params, "alert_id": alert_id},
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def apply(
    conn: AsyncConnection, source: AlertSource, condition: Condition, now: datetime
) -> list[int]:
    """Turn a condition's new state into its alert's lifecycle step (raise, escalate,
    de-escalate, resolve); the events' ids. The severity the alert already has is no
    step: its value, details and message are brought up to date, with no event.

    Call inside a transaction. ``condition.at`` dates the step (a reading's time, or the
    clock for silence); ``now`` starts the acknowledgement and reminder clocks.
    """
    alert = await _open_alert(conn, source, condition)
    current = {
        "value": condition.value,
        "detail": dict(condition.detail),
        "message": condition.message,
    }
    if condition.severity == 0:
        if alert is None:
            return []
        alert = await _update(
            conn,
            alert["alert_id"],
            state="resolved",
            resolved_at=condition.at,
            value=condition.value,
            message=condition.message,
        )
        return [await _event(conn, source, alert, "resolved", condition.at)]
    if alert is None:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "INSERT INTO alerts (domain, subject_id, kind, severity, peak_severity, state,"
            " raised_at, contact_since, reminded_at, value, detail, message)"
            " VALUES (%s, %s, %s, %s, %s, 'active', %s, %s, %s, %s, %s, %s)"
            f" RETURNING {_COLUMNS}",
            (
                source.domain,
                condition.subject_id,
                condition.kind,
                condition.severity,
                condition.severity,
                condition.at,
                now,
                now,
                condition.value,
                Jsonb(current["detail"]),
                condition.message,
            ),
        )
        created = await cur.fetchone()
        assert created is not None
        return [await _event(conn, source, created, "raised", condition.at)]
    if condition.severity > alert["severity"]:
        alert = await _update(
            conn,
            alert["alert_id"],
            severity=condition.severity,
            peak_severity=max(condition.severity, alert["peak_severity"]),
            state="active",  # a worse level must be answered for again
            contact_since=now,
            reminded_at=now,
            **current,
        )
        return [await _event(conn, source, alert, "escalated", condition.at)]
    if condition.severity == alert["severity"]:  # no step: the alert shows the latest value
        await _update(conn, alert["alert_id"], **current)
        return []
    alert = await _update(conn, alert["alert_id"], severity=condition.severity, **current)
    return [await _event(conn, source, alert, "de-escalated", condition.at)]


async def _one(
    conn: AsyncConnection, source: AlertSource, alert_id: int, *, lock: bool = False
) -> dict[str, Any]:
    """The domain's alert ``alert_id`` (locked for update when asked); 404 if none."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = %s AND domain = %s"
        + (" FOR UPDATE" if lock else ""),
        (alert_id, source.domain),
    )
    alert = await cur.fetchone()
    if alert is None:
        raise AlertNotFound(f"no {source.domain} alert {alert_id}")
    return alert


async def acknowledge(
    conn: AsyncConnection, source: AlertSource, alert_id: int, by: str, note: str, now: datetime
) -> dict[str, Any]:
    """Record that ``by`` answers for an active alert; its reminders and escalation stop.
    The alert as :func:`get` returns it."""
    async with conn.transaction():
        alert = await _one(conn, source, alert_id, lock=True)
        if alert["state"] != "active":
            who = alert["acknowledged_by"]
            raise AlertConflict(
                f"alert {alert_id} is {alert['state']}"
                + (f" (by {who} at {alert['acknowledged_at'].isoformat()})" if who else "")
                + "; only an active alert can be acknowledged"
            )
        alert = await _update(
            conn,
            alert_id,
            state="acknowledged",
            acknowledged_at=now,
            acknowledged_by=by,
            ack_note=note,
        )
        await _event(conn, source, alert, "acknowledged", now)
    return await get(conn, source, alert_id)


async def run_timers(conn: AsyncConnection, source: AlertSource, now: datetime) -> list[int]:
    """Escalate active alerts unacknowledged past their timeout to the next contact
    group, and repeat the reminder of those due; the events' ids. Alerts of subjects no
    longer configured wait."""
    events: list[int] = []
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE domain = %s AND state = 'active'"
            " ORDER BY alert_id FOR UPDATE SKIP LOCKED",
            (source.domain,),
        )
        for alert in await cur.fetchall():
            subject = source.subjects.get(alert["subject_id"])
            if subject is None:
                continue
            escalation = subject.escalation
            if (
                now - alert["contact_since"] >= escalation.ack_timeout
                and alert["contact_level"] < len(escalation.contacts) - 1
            ):
                alert = await _update(
                    conn,
                    alert["alert_id"],
                    contact_level=alert["contact_level"] + 1,
                    contact_since=now,
                    reminded_at=now,
                )
                events.append(await _event(conn, source, alert, "contact-escalated", now))
            elif now - alert["reminded_at"] >= escalation.reminder_every:
                alert = await _update(conn, alert["alert_id"], reminded_at=now)
                events.append(await _event(conn, source, alert, "reminder", now))
    return events


def _public(source: AlertSource, alert: dict[str, Any]) -> dict[str, Any]:
    """An alert as the API shows it: the subject's id under its domain's name."""
    out = {
        source.subject_key if k == "subject_id" else k: v.isoformat()
        if isinstance(v, datetime)
        else v
        for k, v in alert.items()
        if k != "domain"
    }
    out["code"] = CODES[alert["severity"]]
    return out


async def listing(
    conn: AsyncConnection,
    source: AlertSource,
    *,
    which: Listing = "all",
    subject_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The domain's alerts, newest first: open ones, past (resolved) ones, or all."""
    conditions = ["domain = %s"]
    params: list[Any] = [source.domain]
    if which == "open":
        conditions.append("state <> 'resolved'")
    elif which == "past":
        conditions.append("state = 'resolved'")
    if subject_id is not None:
        conditions.append("subject_id = %s")
        params.append(subject_id)
    if since is not None:
        conditions.append("coalesce(resolved_at, 'infinity') >= %s")
        params.append(since)
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE {' AND '.join(conditions)}"
        " ORDER BY raised_at DESC, alert_id DESC LIMIT %s",
        (*params, limit),
    )
    return [_public(source, a) for a in await cur.fetchall()]


async def get(conn: AsyncConnection, source: AlertSource, alert_id: int) -> dict[str, Any]:
    """One of the domain's alerts with its full history, oldest event first."""
    alert = await _one(conn, source, alert_id)
    rows = await (
        await conn.execute(
            "SELECT document::text FROM alert_events WHERE alert_id = %s ORDER BY event_id",
            (alert_id,),
        )
    ).fetchall()
    return {**_public(source, alert), "history": [orjson.loads(r[0]) for r in rows]}


async def event_document(conn: AsyncConnection, event_id: int) -> dict[str, Any] | None:
    """An event's document, as notified."""
    row = await (
        await conn.execute(
            "SELECT document::text FROM alert_events WHERE event_id = %s", (event_id,)
        )
    ).fetchone()
    return None if row is None else orjson.loads(row[0])


async def open_severities(
    conn: AsyncConnection, source: AlertSource, subject_id: str
) -> dict[str, int]:
    """The severity of each open alert of a subject, by kind."""
    rows = await (
        await conn.execute(
            "SELECT kind, severity FROM alerts"
            " WHERE domain = %s AND subject_id = %s AND state <> 'resolved'",
            (source.domain, subject_id),
        )
    ).fetchall()
    return {str(kind): int(severity) for kind, severity in rows}


@dataclass(frozen=True)
class Delivery:
    """The oldest undelivered event of one channel of a domain."""

    channel: str
    event_id: int
    attempts: int
    next_attempt_at: datetime


async def next_deliveries(conn: AsyncConnection, source: AlertSource) -> list[Delivery]:
    """Each of the domain's channels' oldest undelivered event: channels deliver in
    order, so a later event waits for the one before it."""
    rows = await (
        await conn.execute(
            "SELECT DISTINCT ON (channel) channel, event_id, attempts, next_attempt_at"
            " FROM alert_outbox WHERE domain = %s AND delivered_at IS NULL"
            " ORDER BY channel, event_id",
            (source.domain,),
        )
    ).fetchall()
    return [Delivery(*row) for row in rows]


async def record_attempt(
    conn: AsyncConnection,
    source: AlertSource,
    delivery: Delivery,
    *,
    error: str | None = None,
    retry_in: timedelta = timedelta(0),
) -> None:
    """Count an attempt at ``delivery``: delivered without ``error``, else due again in
    ``retry_in``."""
    key = (source.domain, delivery.channel, delivery.event_id)
    if error is None:
        await conn.execute(
            "UPDATE alert_outbox SET attempts = attempts + 1, delivered_at = now(),"
            " last_error = NULL WHERE domain = %s AND channel = %s AND event_id = %s",
            key,
        )
        return
    await conn.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1, last_error = %s,"
        " next_attempt_at = now() + %s WHERE domain = %s AND channel = %s AND event_id = %s",
        (error, retry_in, *key),
    )
