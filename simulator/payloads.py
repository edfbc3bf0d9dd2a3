"""MQTT topics and JSON payloads of the simulated devices.

A payload is compact JSON: ``{"time": "2024-05-01T08:00:00.000Z", "values": {...}}``
with the time in UTC and numbers only; NaN and infinities are refused rather than
sent as the non-standard ``NaN`` that ``json`` would otherwise write.
"""

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from simulator.errors import InvalidInputError

_FORBIDDEN_IN_LEVEL = ("/", "+", "#", "\x00")


def check_topic_prefix(prefix: str) -> None:
    """Raise InvalidInputError unless ``prefix`` can start a publish topic."""
    if not prefix or any(c in prefix for c in ("+", "#", "\x00")) or prefix.endswith("/"):
        raise InvalidInputError(
            f"topic_prefix must be non-empty, without '+', '#' or a trailing '/'; got {prefix!r}"
        )


def check_topic_level(name: str, value: str) -> None:
    """Raise InvalidInputError unless ``value`` can be one level of a topic."""
    if not value or any(c in value for c in _FORBIDDEN_IN_LEVEL):
        raise InvalidInputError(
            f"{name} must be non-empty and contain no '/', '+', '#' or NUL; got {value!r}"
        )


def device_topic(prefix: str, device_id: str) -> str:
    """Return the topic a device publishes on: ``{prefix}/devices/{device_id}/json``."""
    return f"{prefix}/devices/{device_id}/json"


def format_time(t: datetime) -> str:
    """Return ``t`` as ISO 8601 in UTC with milliseconds and a ``Z`` suffix."""
    utc = t.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def encode_payload(t: datetime, values: Mapping[str, float | int]) -> bytes:
    """Return the compact JSON payload for readings ``values`` taken at ``t``."""
    document = {"time": format_time(t), "values": dict(values)}
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
