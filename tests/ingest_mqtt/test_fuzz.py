"""Property tests: bad input yields PayloadError or dead letters, never an exception or a
reading outside its bounds, and every SenML record is accounted for exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest_mqtt import compact_json, senml
from ingest_mqtt.decode import Incoming, decode
from ingest_mqtt.errors import PayloadError
from ingest_mqtt.quantities import QUANTITIES
from ingest_mqtt.validation import MAX_FUTURE, MIN_TIME, Parsed
from storage.readings import Reading

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp() - 3600
GAUGE = frozenset({"water_level", "water_temperature", "occupied", "pm25"})
DRONE = frozenset({"water_surface_level", "pm25"})
REGISTRY = {"gauge-1": GAUGE, "drone-7": DRONE}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
anything = st.none() | st.booleans() | st.text(max_size=6) | st.lists(st.integers(), max_size=2)
numbers = st.floats() | st.integers(-(10**400), 10**400) | st.sampled_from([0, 1, -1, 0.5])
names = st.sampled_from([*QUANTITIES, "flow", "", "water level", "gauge-1/pm25"]) | st.text(
    max_size=6
)
units = st.sampled_from(
    sorted({u for q in QUANTITIES.values() for u in q.senml_units if u} | {"", "ft", "K"})
)
times = st.sampled_from([0, -60, 30, 301, T0, 2**28, 2**28 - 1, -(2**40), 1e300]) | numbers
senml_record = st.fixed_dictionaries(
    {},
    optional={
        "bn": st.sampled_from(["", "gauge-1/", "drone-7:", "urn:dev:id:gauge-1:", "other/"])
        | anything,
        "bt": times | anything,
        "bu": units | anything,
        "bv": numbers | anything,
        "bs": numbers,
        "bver": st.sampled_from([10, 26, 5, 10.0]) | anything,
        "n": names | anything,
        "u": units | anything,
        "v": numbers | anything,
        "vb": st.booleans() | anything,
        "vs": st.text(max_size=4),
        "vd": st.text(max_size=4),
        "s": numbers | anything,
        "t": times | anything,
        "ut": numbers | anything,
        "x_": anything,
        "bx_": anything,
        "extra": anything,
    },
)


def _valid_record(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """A record that passes on its own (duplicates and missing positions aside)."""
    q = QUANTITIES[name]
    if q.boolean:
        values: st.SearchStrategy[Any] = st.sampled_from([0, 1])
    elif q.integral:
        values = st.integers(int(q.low), int(q.high))
    else:
        values = st.floats(q.low, q.high)
    units = [u for u, conversion in q.senml_units.items() if u and conversion == (1.0, 0.0)]
    required: dict[str, st.SearchStrategy[Any]] = {
        "n": st.just(name),
        "v": values,
        "t": st.sampled_from([0, -30, -60]),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {"bver": st.just(10)}
    (optional if None in q.senml_units else required)["u"] = st.sampled_from(units)
    return st.fixed_dictionaries(required, optional=optional)


valid_records = st.sampled_from(sorted(GAUGE | DRONE | {"lat", "lon", "alt"})).flatmap(
    _valid_record
)
senml_packs = st.lists(valid_records, min_size=1, max_size=12) | st.lists(
    valid_records | senml_record | anything, min_size=1, max_size=12
)


def _check_readings(readings: list[Reading], allowed: frozenset[str]) -> None:
    for r in readings:
        assert isinstance(r.value, float)
        assert r.quantity in allowed
        assert QUANTITIES[r.quantity].problem(r.value) is None, r
        assert MIN_TIME <= r.time <= NOW + MAX_FUTURE, r


def _check_pack(parsed: Parsed, records: int, drone: bool) -> None:
    indexes = [e.record_index for e in parsed.rejected]
    assert len(indexes) == len(set(indexes))
    assert all(i is not None and 0 <= i < records for i in indexes)
    positions = 0
    for p in parsed.track:
        assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180
        positions += 2 if p.alt is None else 3
    assert len(parsed.readings) + positions + len(indexes) == records
    if drone:
        placed = {p.time for p in parsed.track}
        assert all(r.time in placed for r in parsed.readings)


@given(st.binary(max_size=300))
def test_senml_bytes_raise_only_payload_errors(payload: bytes) -> None:
    try:
        senml.parse(payload, "gauge-1", NOW, GAUGE)
    except PayloadError as error:
        assert error.reason


@given(json_values)
def test_senml_json_documents_raise_only_payload_errors(document: object) -> None:
    try:
        parsed = senml.parse(json.dumps(document).encode(), "gauge-1", NOW, GAUGE)
    except PayloadError:
        return
    assert isinstance(document, list)
    _check_pack(parsed, len(document), drone=False)


@FUZZ
@given(senml_packs, st.booleans())
def test_senml_packs_account_for_every_record(pack: list[Any], drone: bool) -> None:
    device, allowed = ("drone-7", DRONE) if drone else ("gauge-1", GAUGE)
    parsed = senml.parse(json.dumps(pack).encode(), device, NOW, allowed, drone=drone)
    _check_readings(parsed.readings, allowed)
    _check_pack(parsed, len(pack), drone)


compact_record = st.fixed_dictionaries(
    {"values": st.dictionaries(names, numbers | anything, max_size=4) | anything},
    optional={
        "time": st.sampled_from(
            ["2026-11-23T11:00:00Z", "2026-11-23T12:06:00Z", "1970-01-01T00:00:00+00:00"]
        )
        | st.datetimes(timezones=st.timezones()).map(datetime.isoformat)
        | anything
    },
)


@FUZZ
@given(st.lists(compact_record | anything, max_size=6) | compact_record)
def test_compact_json_readings_respect_bounds(document: object) -> None:
    try:
        parsed = compact_json.parse(json.dumps(document).encode(), "gauge-1", NOW, GAUGE)
    except PayloadError:
        return
    _check_readings(parsed.readings, GAUGE)


topics = st.sampled_from(
    [
        "city/devices/gauge-1/senml",
        "city/devices/gauge-1/json",
        "city/drones/drone-7/senml",
        "city/drones/gauge-1/senml",
        "city/devices/ghost/json",
        "city/devices/gauge-1/cbor",
    ]
) | st.text(max_size=30)
payloads = (
    st.binary(max_size=200)
    | json_values.map(lambda d: json.dumps(d).encode())
    | senml_packs.map(lambda p: json.dumps(p).encode())
    | compact_record.map(lambda r: json.dumps(r).encode())
)


@FUZZ
@given(st.lists(st.tuples(topics, payloads), max_size=5))
def test_decode_never_raises(messages: list[tuple[str, bytes]]) -> None:
    batch = [Incoming(t, p, 1, 1, NOW) for t, p in messages]
    decoded = decode(batch, "city", REGISTRY.get)
    for reading in decoded.readings:
        _check_readings([reading], REGISTRY[reading.device_id])
    assert all(d.reason and d.payload is not None for d in decoded.dead_letters)
    assert {p.drone_id for p in decoded.track} <= {"drone-7", "gauge-1"}
    if not messages:
        assert decoded.readings == [] and decoded.dead_letters == []
