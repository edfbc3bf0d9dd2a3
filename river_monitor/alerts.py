"""Alerts with a lifecycle, their history, and the notifications each event owes.

An alert is open (``active``, or ``acknowledged`` once someone answered for it) from
the moment its condition is raised until it clears (``resolved``); a rise in severity
re-opens an acknowledged alert, since the staff must answer for the worse level. Every
change is an event with a JSON document, written in the same transaction as the change
together with one outbox row per channel that owes it (MQTT, and each webhook serving
a contact group already alerted), then announced on channel ``river_events``. The
document's ``id`` is the idempotency key receivers deduplicate on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from river_monitor.conditions import Change
from river_monitor.config import GaugeConfig, RiverConfig

EVENTS_CHANNEL = "river_events"
MQTT_CHANNEL = "mqtt"
CODES = {1: "yellow", 2: "orange", 3: "red"}

Action = Literal[
    "raised",
    "escalated",
    "de-escalated",
    "resolved",
    "acknowledged",
    "reminder",
    "contact-escalated",
]
Listing = Literal["open", "past", "all"]


class AlertNotFound(LookupError):
    """No alert has this id."""


class AlertConflict(ValueError):
    """The alert is not in a state that allows the operation; the message says why."""


_COLUMNS = """alert_id, gauge_id, kind, severity, peak_severity, state, raised_at, resolved_at,
acknowledged_at, acknowledged_by, ack_note, contact_level, contact_since, reminded_at,
value, detail"""


def webhook_channel(name: str) -> str:
    """The outbox channel of a webhook."""
    return f"webhook:{name}"


def _document(
    alert: dict[str, Any], gauge: GaugeConfig, event_id: int, action: Action, at: datetime
) -> dict[str, Any]:
    contacts = list(gauge.contacts[: alert["contact_level"] + 1])
    return {
        "id": f"river-event-{event_id}",
        "type": f"river.alert.{action}",
        "alert_id": alert["alert_id"],
        "gauge_id": alert["gauge_id"],
        "gauge_name": gauge.name,
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
    conn: AsyncConnection,
    config: RiverConfig,
    alert: dict[str, Any],
    action: Action,
    at: datetime,
) -> int:
    """Record an event of ``alert`` (as it now is) and the deliveries it owes."""
    gauge = config.gauge(alert["gauge_id"])
    if gauge is None:
        raise AlertConflict(f"gauge {alert['gauge_id']!r} is no longer configured")
    row = await (
        await conn.execute(
            "INSERT INTO river_alert_events (alert_id, action, at, document)"
            " VALUES (%s, %s, %s, '{}') RETURNING event_id",
            (alert["alert_id"], action, at),
        )
    ).fetchone()
    assert row is not None
    event_id = int(row[0])
    document = _document(alert, gauge, event_id, action, at)
    await conn.execute(
        "UPDATE river_alert_events SET document = %s WHERE event_id = %s",
        (Jsonb(document), event_id),
    )
    contacts = set(document["contacts"])
    channels = [MQTT_CHANNEL] + [
        webhook_channel(w.name)
        for w in config.webhooks
        if not w.contacts or contacts & set(w.contacts)
    ]
    await conn.execute(
        "INSERT INTO river_outbox (event_id, channel) SELECT %s, unnest(%s::text[])",
        (event_id, channels),
    )
    await conn.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, str(event_id)))
    return event_id


async def _open_alert(conn: AsyncConnection, gauge_id: str, kind: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM river_alerts"
        " WHERE gauge_id = %s AND kind = %s AND state <> 'resolved' FOR UPDATE",
        (gauge_id, kind),
    )
    return await cur.fetchone()


async def _update(conn: AsyncConnection, alert_id: int, **values: Any) -> dict[str, Any]:
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    cur = conn.cursor(row_factory=dict_row)
    params = {k: Jsonb(v) if k == "detail" else v for k, v in values.items()}
    await cur.execute(
        f"UPDATE river_alerts SET {assignments} WHERE alert_id = %(alert_id)s RETURNING {_COLUMNS}",
        {**params, "alert_id": alert_id},
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def apply(
    conn: AsyncConnection, config: RiverConfig, change: Change, now: datetime
) -> list[int]:
    """Turn a condition change into its alert's lifecycle step; the events' ids.

    Call inside a transaction. ``change.at`` dates the step (a reading's time, or the
    clock for silence); ``now`` starts the acknowledgement and reminder clocks.
    """
    alert = await _open_alert(conn, change.gauge_id, change.kind)
    if change.severity == 0:
        if alert is None:
            return []
        alert = await _update(
            conn, alert["alert_id"], state="resolved", resolved_at=change.at, value=change.value
        )
        return [await _event(conn, config, alert, "resolved", change.at)]
    if alert is None:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "INSERT INTO river_alerts (gauge_id, kind, severity, peak_severity, state,"
            " raised_at, contact_since, reminded_at, value, detail)"
            " VALUES (%s, %s, %s, %s, 'active', %s, %s, %s, %s, %s)"
            f" RETURNING {_COLUMNS}",
            (
                change.gauge_id,
                change.kind,
                change.severity,
                change.severity,
                change.at,
                now,
                now,
                change.value,
                Jsonb(change.detail),
            ),
        )
        created = await cur.fetchone()
        assert created is not None
        return [await _event(conn, config, created, "raised", change.at)]
    if change.severity > alert["severity"]:
        alert = await _update(
            conn,
            alert["alert_id"],
            severity=change.severity,
            peak_severity=max(change.severity, alert["peak_severity"]),
            state="active",  # a worse level must be answered for again
            contact_since=now,
            reminded_at=now,
            value=change.value,
            detail=change.detail,
        )
        return [await _event(conn, config, alert, "escalated", change.at)]
    alert = await _update(
        conn,
        alert["alert_id"],
        severity=change.severity,
        value=change.value,
        detail=change.detail,
    )
    return [await _event(conn, config, alert, "de-escalated", change.at)]


async def acknowledge(
    conn: AsyncConnection, config: RiverConfig, alert_id: int, by: str, note: str, now: datetime
) -> dict[str, Any]:
    """Record that ``by`` answers for an active alert; its reminders and escalation stop."""
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            f"SELECT {_COLUMNS} FROM river_alerts WHERE alert_id = %s FOR UPDATE", (alert_id,)
        )
        alert = await cur.fetchone()
        if alert is None:
            raise AlertNotFound(f"no river alert {alert_id}")
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
        await _event(conn, config, alert, "acknowledged", now)
    return await get(conn, alert_id)


async def run_timers(conn: AsyncConnection, config: RiverConfig, now: datetime) -> list[int]:
    """Escalate active alerts unacknowledged past their gauge's timeout to the next
    contact group, and repeat the reminder of those due; the events' ids."""
    events: list[int] = []
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            f"SELECT {_COLUMNS} FROM river_alerts WHERE state = 'active'"
            " ORDER BY alert_id FOR UPDATE SKIP LOCKED"
        )
        for alert in await cur.fetchall():
            gauge = config.gauge(alert["gauge_id"])
            if gauge is None:
                continue
            timeout = timedelta(minutes=gauge.ack_timeout_min)
            if (
                now - alert["contact_since"] >= timeout
                and alert["contact_level"] < len(gauge.contacts) - 1
            ):
                alert = await _update(
                    conn,
                    alert["alert_id"],
                    contact_level=alert["contact_level"] + 1,
                    contact_since=now,
                    reminded_at=now,
                )
                events.append(await _event(conn, config, alert, "contact-escalated", now))
            elif now - alert["reminded_at"] >= timedelta(minutes=gauge.reminder_every_min):
                alert = await _update(conn, alert["alert_id"], reminded_at=now)
                events.append(await _event(conn, config, alert, "reminder", now))
    return events


def _public(alert: dict[str, Any]) -> dict[str, Any]:
    out = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in alert.items()}
    out["code"] = CODES[alert["severity"]]
    return out


async def listing(
    conn: AsyncConnection,
    *,
    which: Listing = "all",
    gauge_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Alerts, newest first: open ones, past (resolved) ones, or all."""
    conditions = ["TRUE"]
    params: list[Any] = []
    if which == "open":
        conditions.append("state <> 'resolved'")
    elif which == "past":
        conditions.append("state = 'resolved'")
    if gauge_id is not None:
        conditions.append("gauge_id = %s")
        params.append(gauge_id)
    if since is not None:
        conditions.append("coalesce(resolved_at, 'infinity') >= %s")
        params.append(since)
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM river_alerts WHERE {' AND '.join(conditions)}"
        " ORDER BY raised_at DESC, alert_id DESC LIMIT %s",
        (*params, limit),
    )
    return [_public(a) for a in await cur.fetchall()]


async def get(conn: AsyncConnection, alert_id: int) -> dict[str, Any]:
    """One alert with its full history, oldest event first."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM river_alerts WHERE alert_id = %s", (alert_id,))
    alert = await cur.fetchone()
    if alert is None:
        raise AlertNotFound(f"no river alert {alert_id}")
    rows = await (
        await conn.execute(
            "SELECT document::text FROM river_alert_events WHERE alert_id = %s ORDER BY event_id",
            (alert_id,),
        )
    ).fetchall()
    return {**_public(alert), "history": [orjson.loads(r[0]) for r in rows]}


async def event_document(conn: AsyncConnection, event_id: int) -> dict[str, Any] | None:
    """An event's document, as notified."""
    row = await (
        await conn.execute(
            "SELECT document::text FROM river_alert_events WHERE event_id = %s", (event_id,)
        )
    ).fetchone()
    return None if row is None else orjson.loads(row[0])


async def open_severities(conn: AsyncConnection, gauge_id: str) -> dict[str, int]:
    """The severity of each open alert of a gauge, by kind."""
    rows = await (
        await conn.execute(
            "SELECT kind, severity FROM river_alerts WHERE gauge_id = %s AND state <> 'resolved'",
            (gauge_id,),
        )
    ).fetchall()
    return {str(kind): int(severity) for kind, severity in rows}
