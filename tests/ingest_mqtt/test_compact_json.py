from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest_mqtt import compact_json
from ingest_mqtt.errors import PayloadError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_single_object_with_and_without_time() -> None:
    parsed = compact_json.parse(
        b'{"time": "2026-11-23T10:00:00Z",'
        b' "values": {"water_level": 312, "water_temperature": 7.5}}',
        "g1",
        NOW,
    )
    assert [(r.quantity, r.value, r.time.hour) for r in parsed.readings] == [
        ("water_level", 312.0, 10),
        ("water_temperature", 7.5, 10),
    ]
    untimed = compact_json.parse(b'{"values": {"occupied": 1}}', "b1", NOW)
    assert untimed.readings[0].time == NOW


def test_list_keeps_good_records_and_reports_bad_ones_by_index() -> None:
    payload = json.dumps(
        [
            {"time": "2026-11-23T10:00:00+02:00", "values": {"pm25": 12.0}},
            {"time": "yesterday", "values": {"pm25": 13.0}},
            {"values": {"pm25": "high"}},
            {"time": "2026-11-23T10:00:00", "values": {"pm25": 1}},
            {"values": {"pm25": 14.0}},
        ]
    ).encode()
    parsed = compact_json.parse(payload, "aq", NOW)
    assert [r.value for r in parsed.readings] == [12.0, 14.0]
    assert [(e.record_index, e.reason) for e in parsed.rejected] == [
        (1, "record 1: time 'yesterday' is not ISO 8601"),
        (2, "record 2: pm25 must be a number"),
        (3, "record 3: time '2026-11-23T10:00:00' has no UTC offset"),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "payload is not UTF-8"),
        (b'{"values": {', "malformed JSON"),
        (b"[]", "empty list of records"),
        (b"x" * (compact_json.MAX_PAYLOAD_BYTES + 1), "exceeds"),
    ],
)
def test_whole_message_errors(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        compact_json.parse(payload, "d", NOW)


@pytest.mark.parametrize(
    "record",
    [
        {"values": {}},
        {"values": {"a": True}},
        {"values": {"a": None}},
        {"values": [1]},
        {"value": {"a": 1}},
        "text",
    ],
)
def test_bad_records_are_rejected(record: object) -> None:
    parsed = compact_json.parse(json.dumps(record).encode(), "d", NOW)
    assert parsed.readings == [] and len(parsed.rejected) == 1


def test_non_finite_values_are_rejected() -> None:
    parsed = compact_json.parse(b'{"values": {"a": NaN, "b": Infinity}}', "d", NOW)
    assert parsed.readings == [] and "not finite" in parsed.rejected[0].reason


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=300))
def test_fuzz_bytes_raise_only_payload_errors(payload: bytes) -> None:
    try:
        compact_json.parse(payload, "d", NOW)
    except PayloadError:
        pass


@given(json_values)
def test_fuzz_json_documents_raise_only_payload_errors(document: object) -> None:
    try:
        parsed = compact_json.parse(json.dumps(document).encode(), "d", NOW)
    except PayloadError:
        return
    for reading in parsed.readings:
        assert isinstance(reading.value, float)


def test_values_are_checked_against_quantities_registry_and_bounds() -> None:
    payload = json.dumps(
        [
            {"values": {"water_level": -42, "water_temperature": 7.5}},
            {"values": {"water_level": 1600, "water_temperature": 41}},
            {"values": {"water_level": 300, "flow": 2870}},
            {"values": {"pm25": 3}},
        ]
    ).encode()
    parsed = compact_json.parse(
        payload, "gauge-1", NOW, frozenset({"water_level", "water_temperature"})
    )
    assert [(r.quantity, r.value) for r in parsed.readings] == [
        ("water_level", -42.0),
        ("water_temperature", 7.5),
        ("water_level", 300.0),
    ]
    reasons = [(e.record_index, e.reason) for e in parsed.rejected]
    assert reasons[:2] == [
        (1, "record 1: water_level 1600 cm is outside -300..1500 cm"),
        (1, "record 1: water_temperature 41 Cel is outside -5..40 Cel"),
    ]
    assert reasons[2][0] == 2
    assert reasons[2][1].startswith("record 2: unknown quantity 'flow' (known: alt, battery,")
    assert reasons[3] == (
        3,
        "record 3: device 'gauge-1' does not report 'pm25';"
        " registered quantities: ['water_level', 'water_temperature']",
    )


def test_states_and_counts_must_be_whole() -> None:
    parsed = compact_json.parse(
        b'[{"values": {"occupied": 1}}, {"values": {"occupied": 0.5}},'
        b' {"values": {"occupied_spaces": 12.5, "free_spaces": 30}}]',
        "lot",
        NOW,
    )
    assert [(r.quantity, r.value) for r in parsed.readings] == [
        ("occupied", 1.0),
        ("free_spaces", 30.0),
    ]
    assert [e.reason for e in parsed.rejected] == [
        "record 1: occupied must be 0 or 1, got 0.5",
        "record 2: occupied_spaces must be a whole number, got 12.5",
    ]


def test_times_outside_the_window_refuse_the_record() -> None:
    payload = json.dumps(
        [
            {"time": "2026-11-23T12:05:00Z", "values": {"pm25": 1}},
            {"time": "2026-11-23T12:05:01Z", "values": {"pm25": 2}},
            {"time": "1989-12-31T23:59:59Z", "values": {"pm25": 3}},
            {"time": "0001-01-01T00:00:00+23:59", "values": {"pm25": 4}},
            {"time": "9999-12-31T23:59:59-23:59", "values": {"pm25": 5}},
        ]
    ).encode()
    parsed = compact_json.parse(payload, "aq", NOW)
    assert [r.value for r in parsed.readings] == [1.0]
    assert [e.reason for e in parsed.rejected] == [
        "record 1: time 2026-11-23T12:05:01+00:00 is more than 300 s after arrival"
        " at 2026-11-23T12:00:00+00:00",
        "record 2: time 1989-12-31T23:59:59+00:00 is before 1990",
        "record 3: time 0001-01-01T00:00:00+23:59 is before 1990",
        "record 4: time 9999-12-31T23:59:59-23:59 is more than 300 s after arrival"
        " at 2026-11-23T12:00:00+00:00",
    ]


def test_huge_numbers_are_refused_not_raised() -> None:
    parsed = compact_json.parse(b'{"values": {"pm25": 1' + b"0" * 400 + b"}}", "aq", NOW)
    assert parsed.readings == []
    assert [e.reason for e in parsed.rejected] == ["record 0: pm25 is not finite"]
    with pytest.raises(PayloadError, match="malformed JSON: Exceeds the limit"):
        compact_json.parse(b'{"values": {"pm25": ' + b"1" * 5000 + b"}}", "aq", NOW)
