"""Turn a batch of raw MQTT messages into readings and dead letters (no I/O here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ingest_mqtt import compact_json
from ingest_mqtt.errors import PayloadError
from ingest_mqtt.topics import parse_topic
from storage.readings import DeadLetter, Reading


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as received: decoded later, acknowledged after its batch commits."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime


@dataclass
class Decoded:
    """What a batch yields: readings to store and dead letters with reasons."""

    readings: list[Reading] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


QuantityLookup = Callable[[str], frozenset[str] | None]


def decode(messages: Iterable[Incoming], prefix: str, quantities_of: QuantityLookup) -> Decoded:
    """Validate messages against the contract and the device registry."""
    out = Decoded()
    for message in messages:

        def reject(error: PayloadError, message: Incoming = message) -> None:
            out.dead_letters.append(
                DeadLetter(
                    message.topic,
                    message.payload,
                    error.reason,
                    message.received_at,
                    error.record_index,
                )
            )

        try:
            topic = parse_topic(prefix, message.topic)
            allowed = quantities_of(topic.device_id)
            if allowed is None:
                raise PayloadError(f"unknown device {topic.device_id!r}: not in the registry")
            parsed = compact_json.parse(message.payload, topic.device_id, message.received_at)
        except PayloadError as error:
            reject(error)
            continue
        for refused in parsed.rejected:
            reject(refused)
        out.readings.extend(r for r in parsed.readings if r.quantity in allowed)
        for quantity in sorted({r.quantity for r in parsed.readings} - allowed):
            reject(
                PayloadError(
                    f"device {topic.device_id!r} does not report {quantity!r};"
                    f" registered quantities: {sorted(allowed)}"
                )
            )
    return out
