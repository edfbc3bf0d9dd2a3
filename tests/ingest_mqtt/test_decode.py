from __future__ import annotations

from datetime import UTC, datetime

from ingest_mqtt.decode import Incoming, decode

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REGISTRY = {"gauge-1": frozenset({"water_level"})}


def _msg(topic: str, payload: bytes) -> Incoming:
    return Incoming(topic, payload, mid=1, qos=1, received_at=NOW)


def test_decode_checks_topic_registry_and_quantities() -> None:
    decoded = decode(
        [
            _msg("city/devices/gauge-1/json", b'{"values": {"water_level": 300}}'),
            _msg("city/devices/ghost/json", b'{"values": {"water_level": 300}}'),
            _msg("city/devices/gauge-1/json", b'{"values": {"water_level": 301, "pm25": 3}}'),
            _msg("city/devices/gauge-1/xml", b"<x/>"),
            _msg("city/other/gauge-1/json", b"{}"),
        ],
        "city",
        REGISTRY.get,
    )
    assert [r.value for r in decoded.readings] == [300.0, 301.0]
    reasons = [d.reason for d in decoded.dead_letters]
    assert reasons[0] == "unknown device 'ghost': not in the registry"
    assert reasons[1].startswith("device 'gauge-1' does not report 'pm25'")
    assert reasons[2].startswith("unknown payload format 'xml'")
    assert reasons[3].startswith("topic 'city/other/gauge-1/json' is not under")
    assert all(d.payload for d in decoded.dead_letters)
