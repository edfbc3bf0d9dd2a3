"""The topic contract: ``{prefix}/devices/{device_id}/{format}``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest_mqtt.errors import PayloadError

FORMATS = ("json",)
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """A parsed device topic."""

    device_id: str
    payload_format: str


def subscriptions(prefix: str) -> list[str]:
    """Topic filters the ingestion worker subscribes to."""
    return [f"{prefix}/devices/+/{fmt}" for fmt in FORMATS]


def device_topic(prefix: str, device_id: str, payload_format: str = "json") -> str:
    """The topic a device publishes on."""
    return f"{prefix}/devices/{device_id}/{payload_format}"


def parse_topic(prefix: str, topic: str) -> DeviceTopic:
    """Split a device topic, refusing anything outside the contract."""
    head = f"{prefix}/devices/"
    if not topic.startswith(head):
        raise PayloadError(f"topic {topic!r} is not under {head!r}")
    parts = topic[len(head) :].split("/")
    if len(parts) != 2:
        raise PayloadError(f"topic {topic!r} must be {head}<device_id>/<format>")
    device_id, payload_format = parts
    if not _DEVICE_ID.match(device_id):
        raise PayloadError(f"invalid device id {device_id!r} in topic")
    if payload_format not in FORMATS:
        raise PayloadError(f"unknown payload format {payload_format!r}; expected one of {FORMATS}")
    return DeviceTopic(device_id, payload_format)
