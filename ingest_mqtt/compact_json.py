"""The compact JSON payload: ``{"time": ISO 8601?, "values": {quantity: number}}`` or a list.

Records are validated one by one so that a bad record is dead-lettered with its index
while the good ones of the same message are stored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime

from ingest_mqtt.errors import PayloadError
from storage.readings import Reading

MAX_PAYLOAD_BYTES = 256 * 1024


@dataclass
class Parsed:
    """Readings accepted from one message and the records refused, by index."""

    readings: list[Reading] = field(default_factory=list)
    rejected: list[PayloadError] = field(default_factory=list)


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
    return moment


def _parse_record(
    record: object, index: int, device_id: str, received_at: datetime
) -> list[Reading]:
    if not isinstance(record, dict):
        raise PayloadError(f"record {index}: expected an object", index)
    unknown = set(record) - {"time", "values"}
    if unknown:
        raise PayloadError(f"record {index}: unknown keys {sorted(unknown)}", index)
    moment = _parse_time(record.get("time"), index, received_at)
    values = record.get("values")
    if not isinstance(values, dict) or not values:
        raise PayloadError(f"record {index}: 'values' must be a non-empty object", index)
    readings = []
    for quantity, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PayloadError(f"record {index}: {quantity} must be a number", index)
        if not math.isfinite(value):
            raise PayloadError(f"record {index}: {quantity} is not finite", index)
        readings.append(Reading(device_id, quantity, moment, float(value)))
    return readings


def parse(payload: bytes, device_id: str, received_at: datetime) -> Parsed:
    """Decode a payload into readings; raise :class:`PayloadError` if nothing is usable."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        document = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise PayloadError("malformed JSON: nested too deeply") from None
    records = document if isinstance(document, list) else [document]
    if not records:
        raise PayloadError("empty list of records")
    parsed = Parsed()
    for index, record in enumerate(records):
        try:
            parsed.readings.extend(_parse_record(record, index, device_id, received_at))
        except PayloadError as exc:
            parsed.rejected.append(exc)
    return parsed
