"""The topic contract: ``{prefix}/devices/{device_id}/{format}`` and ``{prefix}/drones/...``.

| topic                                 | payload                                   |
|---------------------------------------|-------------------------------------------|
| ``{prefix}/devices/{device_id}/senml`` | SenML pack, ``application/senml+json``    |
| ``{prefix}/devices/{device_id}/json``  | compact JSON (:mod:`compact_json`)        |
| ``{prefix}/drones/{drone_id}/senml``   | SenML pack with ``lat``/``lon``/``alt``   |

The worker subscribes to every format level under ``devices`` and ``drones`` so that a
message on a format outside the contract is dead-lettered with its reason instead of
never being seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest_mqtt.errors import PayloadError

DEVICES = "devices"
DRONES = "drones"
FORMATS: dict[str, tuple[str, ...]] = {DEVICES: ("json", "senml"), DRONES: ("senml",)}
"""Payload formats accepted under each kind of sender."""

_OTHER_SENML = re.compile(r"(senml)?[+\-_]?(cbor|xml|exi)", re.IGNORECASE)
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """A parsed device or drone topic."""

    device_id: str
    payload_format: str
    kind: str = DEVICES

    @property
    def is_drone(self) -> bool:
        """Whether the sender is a drone (its SenML packs carry positions)."""
        return self.kind == DRONES


def subscriptions(prefix: str) -> list[str]:
    """Topic filters the ingestion worker subscribes to: all three topics of the contract."""
    return [f"{prefix}/{kind}/+/+" for kind in FORMATS]


def device_topic(prefix: str, device_id: str, payload_format: str = "json") -> str:
    """The topic a device publishes on."""
    return f"{prefix}/{DEVICES}/{device_id}/{payload_format}"


def drone_topic(prefix: str, drone_id: str) -> str:
    """The topic a drone publishes its SenML packs on."""
    return f"{prefix}/{DRONES}/{drone_id}/senml"


def parse_topic(prefix: str, topic: str) -> DeviceTopic:
    """Split a device or drone topic, refusing anything outside the contract."""
    head = f"{prefix}/"
    kind, _, rest = topic[len(head) :].partition("/") if topic.startswith(head) else ("", "", "")
    if kind not in FORMATS:
        raise PayloadError(
            f"topic {topic!r} is not under {head + DEVICES + '/'!r} or {head + DRONES + '/'!r}"
        )
    parts = rest.split("/")
    if len(parts) != 2:
        raise PayloadError(f"topic {topic!r} must be {head}{kind}/<{kind[:-1]}_id>/<format>")
    device_id, payload_format = parts
    if not _DEVICE_ID.fullmatch(device_id):
        raise PayloadError(f"invalid {kind[:-1]} id {device_id!r} in topic")
    formats = FORMATS[kind]
    if payload_format not in formats:
        if _OTHER_SENML.fullmatch(payload_format):
            raise PayloadError(
                f"unknown payload format {payload_format!r}: SenML is accepted as JSON only"
                f" (application/senml+json on {head}{kind}/{device_id}/senml),"
                " not CBOR, XML or EXI"
            )
        raise PayloadError(
            f"unknown payload format {payload_format!r}; expected one of {formats} under {kind!r}"
        )
    return DeviceTopic(device_id, payload_format, kind)
