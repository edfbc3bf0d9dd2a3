"""Turn a batch of raw MQTT messages into readings, drone positions and dead letters.

No I/O here. A message is checked against the topic contract and the device registry,
then parsed by the format of its topic; every refusal becomes a dead letter carrying
the raw payload (less any licence plate), the topic, the reason and, for a record,
its index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ingest_mqtt import compact_json, personal, senml
from ingest_mqtt.errors import PayloadError
from ingest_mqtt.topics import parse_topic
from ingest_mqtt.validation import MAX_PAYLOAD_BYTES, Parsed
from storage.dead_letters import DeadLetter
from storage.readings import Reading, TrackPoint

MAX_RECORD_DEAD_LETTERS = 50
"""Per message, refused records beyond this many share one summary dead letter: each dead
letter stores the payload, and one 256 KiB pack of tiny bad records must not become
gigabytes of dead letters."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as received: decoded later, acknowledged after its batch commits."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    connection: object = field(default=None, compare=False, repr=False)
    """The network connection it came on: its acknowledgement is only valid there."""


@dataclass
class Decoded:
    """What a batch yields: readings and drone track points to store, dead letters."""

    readings: list[Reading] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    track: list[TrackPoint] = field(default_factory=list)


QuantityLookup = Callable[[str], frozenset[str] | None]


def _parse(message: Incoming, prefix: str, quantities_of: QuantityLookup) -> Parsed:
    topic = parse_topic(prefix, message.topic)
    allowed = quantities_of(topic.device_id)
    if allowed is None:
        what = "drone" if topic.is_drone else "device"
        raise PayloadError(f"unknown {what} {topic.device_id!r}: not in the registry")
    if topic.payload_format == "json":
        return compact_json.parse(message.payload, topic.device_id, message.received_at, allowed)
    return senml.parse(
        message.payload, topic.device_id, message.received_at, allowed, drone=topic.is_drone
    )


def _letters(message: Incoming, refusals: list[tuple[str, int | None]]) -> list[DeadLetter]:
    """The message's dead letters, one per refusal (reason, record index), keeping its
    payload with any licence plate removed (:mod:`ingest_mqtt.personal`)."""
    if not refusals:
        return []
    payload = personal.redact(message.payload) or message.payload
    digest = hashlib.sha256(payload).digest()  # once for all of them
    return [
        DeadLetter.of(
            message.topic,
            payload,
            reason,
            message.received_at,
            index,
            keep_bytes=MAX_PAYLOAD_BYTES,
            payload_digest=digest,
        )
        for reason, index in refusals
    ]


def decode(messages: Iterable[Incoming], prefix: str, quantities_of: QuantityLookup) -> Decoded:
    """Validate messages against the contract and the device registry.

    Never raises for bad input: a message that cannot be used at all is one dead letter;
    a message with some bad records yields its good readings and one dead letter per bad
    record (up to :data:`MAX_RECORD_DEAD_LETTERS`, then one summary). A dead letter keeps
    the first :data:`MAX_PAYLOAD_BYTES` of the payload, what an accepted one may hold.
    """
    out = Decoded()
    for message in messages:
        refusals: list[tuple[str, int | None]] = []
        try:
            parsed = _parse(message, prefix, quantities_of)
        except PayloadError as unusable:
            refusals.append((unusable.reason, unusable.record_index))
        else:
            out.readings.extend(parsed.readings)
            out.track.extend(parsed.track)
            refused = parsed.rejected
            refusals.extend((r.reason, r.record_index) for r in refused[:MAX_RECORD_DEAD_LETTERS])
            if len(refused) > MAX_RECORD_DEAD_LETTERS:
                rest = refused[MAX_RECORD_DEAD_LETTERS:]
                refusals.append(
                    (
                        f"{len(rest)} more refused records (indexes {rest[0].record_index}"
                        f"..{rest[-1].record_index}); the next: {rest[0].reason}",
                        None,
                    )
                )
        out.dead_letters.extend(_letters(message, refusals))
    return out
