from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from ingest_mqtt.decode import MAX_RECORD_DEAD_LETTERS, Incoming, decode
from storage.readings import TrackPoint

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REGISTRY = {
    "gauge-1": frozenset({"water_level"}),
    "drone-7": frozenset({"water_surface_level", "pm25"}),
}


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
    assert reasons[1].startswith("record 0: device 'gauge-1' does not report 'pm25'")
    assert reasons[2].startswith("unknown payload format 'xml'")
    assert reasons[3].startswith("topic 'city/other/gauge-1/json' is not under")
    assert [d.record_index for d in decoded.dead_letters] == [None, 0, None, None]
    assert all(d.payload for d in decoded.dead_letters)
    assert decoded.track == []


def test_senml_devices_and_drones() -> None:
    gauge = [{"bn": "gauge-1/", "n": "water_level", "u": "m", "v": 3.12, "t": -60}]
    drone = [
        {"bn": "drone-7/", "bt": NOW.timestamp() - 60, "n": "lat", "u": "lat", "v": 43.742},
        {"n": "lon", "u": "lon", "v": 24.86},
        {"n": "water_surface_level", "u": "m", "v": 21.4},
        {"n": "pm25", "u": "ug/m3", "v": 7, "t": 5},
    ]
    decoded = decode(
        [
            _msg("city/devices/gauge-1/senml", json.dumps(gauge).encode()),
            _msg("city/drones/drone-7/senml", json.dumps(drone).encode()),
            _msg("city/drones/ghost/senml", json.dumps(drone).encode()),
            _msg("city/drones/drone-7/json", b'{"values": {"pm25": 1}}'),
            _msg("city/devices/gauge-1/senml+cbor", b"\x81\xa0"),
        ],
        "city",
        REGISTRY.get,
    )
    assert [(r.device_id, r.quantity, r.value) for r in decoded.readings] == [
        ("gauge-1", "water_level", 312.0),
        ("drone-7", "water_surface_level", 21.4),
    ]
    minute_ago = datetime(2026, 11, 23, 11, 59, tzinfo=UTC)
    assert decoded.track == [TrackPoint("drone-7", minute_ago, 24.86, 43.742, None)]
    assert [(d.topic, d.record_index, d.reason) for d in decoded.dead_letters] == [
        (
            "city/drones/drone-7/senml",
            3,
            "record 3: pm25 at 2026-11-23T11:59:05+00:00 has no position:"
            " the pack has no lat and lon at that time",
        ),
        ("city/drones/ghost/senml", None, "unknown drone 'ghost': not in the registry"),
        (
            "city/drones/drone-7/json",
            None,
            "unknown payload format 'json'; expected one of ('senml',) under 'drones'",
        ),
        (
            "city/devices/gauge-1/senml+cbor",
            None,
            "unknown payload format 'senml+cbor': SenML is accepted as JSON only"
            " (application/senml+json on city/devices/gauge-1/senml), not CBOR, XML or EXI",
        ),
    ]


def test_refused_records_beyond_the_cap_share_one_dead_letter() -> None:
    records = [{"n": "water_level", "u": "ft", "v": 1, "t": -i} for i in range(120)]
    records[7] = {"n": "water_level", "u": "cm", "v": 300, "t": -7}
    decoded = decode(
        [_msg("city/devices/gauge-1/senml", json.dumps(records).encode())],
        "city",
        REGISTRY.get,
    )
    assert [r.value for r in decoded.readings] == [300.0]
    letters = decoded.dead_letters
    assert len(letters) == MAX_RECORD_DEAD_LETTERS + 1
    assert [d.record_index for d in letters[:9]] == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    assert letters[-1].record_index is None
    assert letters[-1].reason == (
        "69 more refused records (indexes 51..119); the next: record 51: unit 'ft' is not"
        " accepted for water_level (accepted: cm, m)"
    )


DOCS = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"
DOCS_REGISTRY = {
    "gauge-tr-magurele": frozenset({"water_level", "water_temperature"}),
    "aq-tr-2": frozenset({"pm25", "no2"}),
    "lot-piata-b001": frozenset({"occupied"}),
    "lot-piata-counter": frozenset({"occupied_spaces"}),
    "drone-7": frozenset({"water_surface_level", "pm25"}),
}


def test_the_examples_in_the_docs_decode_cleanly() -> None:
    examples = re.findall(r"Topic: `([^`]+)`\s+```json\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert len(examples) == 5
    arrival = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    decoded = decode(
        [Incoming(topic, body.encode(), 1, 1, arrival) for topic, body in examples],
        "city",
        DOCS_REGISTRY.get,
    )
    assert decoded.dead_letters == []
    values = [(r.device_id, r.quantity, r.value) for r in decoded.readings]
    assert values[:4] == [
        ("gauge-tr-magurele", "water_level", 312.0),
        ("gauge-tr-magurele", "water_level", 314.0),
        ("gauge-tr-magurele", "water_level", 315.0),
        ("gauge-tr-magurele", "water_temperature", 7.5),
    ]
    assert values[-3:] == [
        ("drone-7", "water_surface_level", 21.37),
        ("drone-7", "pm25", 8.5),
        ("drone-7", "water_surface_level", 21.41),
    ]
    assert [(p.lat, p.alt) for p in decoded.track] == [(43.7421, 48.5), (43.7425, None)]
