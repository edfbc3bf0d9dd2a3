"""The compact JSON payload: ``{"time": ISO 8601?, "values": {quantity: number}}`` or a list.

Values are in their quantity's canonical unit (:mod:`ingest_mqtt.quantities`) and must
pass the same bounds as SenML. Records are validated one by one, and within a record
each value, so a bad record or value is dead-lettered with its index while the good
ones of the same message are stored. A bad or missing-offset ``time`` refuses its
whole record.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime

from ingest_mqtt import personal
from ingest_mqtt.errors import PayloadError
from ingest_mqtt.quantities import KNOWN, QUANTITIES
from ingest_mqtt.validation import (
    MAX_PAYLOAD_BYTES,
    Parsed,
    finite,
    load_json,
    time_problem,
)
from storage.readings import Reading

__all__ = ["MAX_PAYLOAD_BYTES", "Parsed", "parse"]

_PLATE = "{!r} is a licence plate: the hub stores none (its value is not kept)"


def _parse_time(raw: object, index: int, received_at: datetime) -> datetime:
    if raw is None:
        return received_at
    if not isinstance(raw, str):
        raise PayloadError(f"record {index}: time must be an ISO 8601 string", index)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise PayloadError(f"record {index}: time {raw!r} is not ISO 8601", index) from None
    if moment.tzinfo is None:
        raise PayloadError(f"record {index}: time {raw!r} has no UTC offset", index)
    problem = time_problem(moment, received_at)
    if problem is not None:
        raise PayloadError(f"record {index}: {problem}", index)
    return moment


def _parse_record(
    record: object,
    index: int,
    device_id: str,
    received_at: datetime,
    allowed: Set[str] | None,
    parsed: Parsed,
) -> None:
    if not isinstance(record, dict):
        raise PayloadError(f"record {index}: expected an object", index)
    unknown = record.keys() - {"time", "values"}
    if unknown:
        raise PayloadError(f"record {index}: unknown keys {sorted(unknown)}", index)
    moment = _parse_time(record.get("time"), index, received_at)
    values = record.get("values")
    if not isinstance(values, dict) or not values:
        raise PayloadError(f"record {index}: 'values' must be a non-empty object", index)
    for name, raw in values.items():
        value = finite(raw)
        # plates are looked for on the refusals' paths only: good values pay nothing
        if value is None:
            kind = type(raw)
            what = "is not finite" if kind is float or kind is int else "must be a number"
            reason = _PLATE.format(name) if personal.is_plate(name) else f"{name} {what}"
            parsed.rejected.append(PayloadError(f"record {index}: {reason}", index))
            continue
        quantity = QUANTITIES.get(name)
        if quantity is None:
            reason = (
                _PLATE.format(name)
                if personal.is_plate(name)
                else f"unknown quantity {name!r} (known: {KNOWN})"
            )
        elif allowed is not None and name not in allowed:
            reason = (
                f"device {device_id!r} does not report {name!r};"
                f" registered quantities: {sorted(allowed)}"
            )
        else:
            problem = quantity.problem(value)
            if problem is None:
                parsed.readings.append(Reading(device_id, name, moment, value))
                continue
            reason = problem
        parsed.rejected.append(PayloadError(f"record {index}: {reason}", index))


def parse(
    payload: bytes,
    device_id: str,
    received_at: datetime,
    allowed: Set[str] | None = None,
) -> Parsed:
    """Decode a payload into readings; raise :class:`PayloadError` if nothing is usable.

    ``allowed`` is the device's registered quantities (None: any known quantity).

    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    >>> parse(b'{"values": {"water_level": 312}}', "g1", now).readings[0].value
    312.0
    """
    document = load_json(payload)
    records = document if isinstance(document, list) else [document]
    if not records:
        raise PayloadError("empty list of records")
    parsed = Parsed()
    for index, record in enumerate(records):
        try:
            _parse_record(record, index, device_id, received_at, allowed, parsed)
        except PayloadError as exc:
            parsed.rejected.append(exc)
    return parsed
