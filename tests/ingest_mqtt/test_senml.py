from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest_mqtt import senml
from ingest_mqtt.errors import PayloadError
from ingest_mqtt.validation import MAX_PAYLOAD_BYTES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp() - 3600  # 11:00 UTC, absolute (well above 2**28)
GAUGE = frozenset({"water_level", "water_temperature"})


def _parse(records: object, device: str = "gauge-1", allowed=GAUGE, **kw) -> senml.Parsed:
    return senml.parse(json.dumps(records).encode(), device, NOW, allowed, **kw)


def _reasons(parsed: senml.Parsed) -> list[tuple[int | None, str]]:
    return [(e.record_index, e.reason) for e in parsed.rejected]


def _at(minutes: float) -> datetime:
    return datetime(2026, 11, 23, 11, 0, tzinfo=UTC) + timedelta(minutes=minutes)


def test_gauge_pack_resolves_base_fields_times_and_units() -> None:
    parsed = _parse(
        [
            {"bn": "urn:dev:id:gauge-1:", "bt": T0, "bu": "cm", "bver": 10, "n": "water_level"}
            | {"v": 312},
            {"n": "water_level", "t": 600, "v": 313},
            {"n": "water_level", "t": 1200, "u": "m", "v": 3.15},
            {"n": "water_temperature", "u": "K", "v": 280.65},
            {"n": "water_temperature", "t": 600, "u": "Cel", "v": 7.4, "ut": 900},
        ]
    )
    assert parsed.rejected == []
    assert [(r.device_id, r.quantity, r.time, r.value) for r in parsed.readings] == [
        ("gauge-1", "water_level", _at(0), 312.0),
        ("gauge-1", "water_level", _at(10), 313.0),
        ("gauge-1", "water_level", _at(20), 315.0),
        ("gauge-1", "water_temperature", _at(0), 7.5),
        ("gauge-1", "water_temperature", _at(10), 7.4),
    ]


def test_relative_times_count_from_arrival() -> None:
    parsed = _parse(
        [
            {"n": "water_level", "u": "cm", "v": 300, "t": -120},
            {"n": "water_level", "u": "cm", "v": 301},
            {"n": "water_level", "u": "cm", "v": 302, "t": 60},
            {"bt": -600, "n": "water_level", "u": "cm", "v": 299, "t": -60},
        ]
    )
    assert parsed.rejected == []
    assert [(r.time, r.value) for r in parsed.readings] == [
        (NOW - timedelta(seconds=120), 300.0),
        (NOW, 301.0),
        (NOW + timedelta(seconds=60), 302.0),
        (NOW - timedelta(seconds=660), 299.0),
    ]


def test_time_window_and_the_2_pow_28_boundary() -> None:
    parsed = _parse(
        [
            {"n": "water_level", "u": "cm", "v": 1, "t": 2**28},  # absolute: 1978
            {"n": "water_level", "u": "cm", "v": 2, "t": 2**28 - 1},  # relative: 8.5 years ahead
            {"n": "water_level", "u": "cm", "v": 3, "t": 301},  # relative, just too far ahead
            {"n": "water_level", "u": "cm", "v": 4, "t": 300},  # exactly MAX_FUTURE: accepted
            {"n": "water_level", "u": "cm", "v": 5, "t": NOW.timestamp() + 299},  # absolute
            {"n": "water_level", "u": "cm", "v": 6, "t": 631152000},  # 1990-01-01: accepted
            {"n": "water_level", "u": "cm", "v": 7, "t": 631151999},  # 1989: refused
        ]
    )
    assert [r.value for r in parsed.readings] == [4.0, 5.0, 6.0]
    assert parsed.readings[2].time == datetime(1990, 1, 1, tzinfo=UTC)
    reasons = _reasons(parsed)
    assert [i for i, _ in reasons] == [0, 1, 2, 6]
    assert reasons[0][1] == (
        "record 0: time 268435456 (absolute, 1978-07-04T21:24:16+00:00) is before 1990"
    )
    assert reasons[1][1].startswith("record 1: time 268435455 (relative, 2035-")
    assert reasons[1][1].endswith("s after arrival, more than 300 s")
    assert reasons[2][1] == (
        "record 2: time 301 (relative, 2026-11-23T12:05:01+00:00) is 301 s after arrival,"
        " more than 300 s"
    )
    assert reasons[3][1].endswith("is before 1990")


@pytest.mark.parametrize(
    ("record", "quantity"),
    [
        ({"n": "water_level"}, "water_level"),
        ({"bn": "water_level"}, "water_level"),
        ({"bn": "gauge-1/", "n": "water_level"}, "water_level"),
        ({"bn": "gauge-1:", "n": "water_level"}, "water_level"),
        ({"bn": "urn:dev:id:gauge-1:", "n": "water_level"}, "water_level"),
        ({"n": "urn:dev:id:gauge-1:water_level"}, "water_level"),
        ({"bn": "urn:dev:id:gauge-1:water_", "n": "level"}, "water_level"),
    ],
)
def test_name_rule_accepts(record: dict[str, object], quantity: str) -> None:
    parsed = _parse([record | {"u": "cm", "v": 300}])
    assert parsed.rejected == []
    assert [(r.device_id, r.quantity) for r in parsed.readings] == [("gauge-1", quantity)]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (
            {"bn": "urn:dev:id:gauge-2:", "n": "water_level"},
            "name 'urn:dev:id:gauge-2:water_level' names device 'gauge-2', not 'gauge-1' of"
            " the topic",
        ),
        (
            {"bn": "gauge-2/", "n": "water_level"},
            "name 'gauge-2/water_level' names device 'gauge-2', not 'gauge-1' of the topic",
        ),
        (
            {"n": "urn:dev:mac:0024befffe804ff1:water_level"},
            "name 'urn:dev:mac:0024befffe804ff1:water_level' is not '<quantity>',"
            " 'gauge-1/<quantity>', 'gauge-1:<quantity>' or 'urn:dev:id:gauge-1:<quantity>'",
        ),
        (
            {"n": "gauge-1/x/water_level"},
            "name 'gauge-1/x/water_level' is not '<quantity>', 'gauge-1/<quantity>',"
            " 'gauge-1:<quantity>' or 'urn:dev:id:gauge-1:<quantity>'",
        ),
        ({"n": "water level"}, "name 'water level' is not a SenML name (RFC 8428 §4.5.1)"),
        ({"n": "_water_level"}, "name '_water_level' is not a SenML name (RFC 8428 §4.5.1)"),
        ({"bn": "gauge-1/"}, "name 'gauge-1/' has no quantity after the device"),
        ({}, "no name (n or bn)"),
        ({"n": 5}, "'n' must be a string, got 5"),
    ],
)
def test_name_rule_refuses(record: dict[str, object], reason: str) -> None:
    parsed = _parse([record | {"u": "cm", "v": 300}])
    assert parsed.readings == []
    assert _reasons(parsed) == [(0, f"record 0: {reason}")]


def test_units_are_checked_and_converted() -> None:
    parsed = _parse(
        [
            {"bu": "m", "n": "water_level", "v": 1.1},
            {"n": "water_level", "u": "ft", "v": 10, "t": 1},
            {"n": "water_level", "u": "", "v": 2.5, "t": 2},  # empty u: the base unit applies
            {"bu": "", "n": "water_level", "v": 250, "t": 3},
            {"n": "water_temperature", "u": "degC", "v": 7},
            {"n": "water_level", "u": "m", "v": 1.123456789012, "t": 4},
        ]
    )
    assert [(r.quantity, r.value) for r in parsed.readings] == [
        ("water_level", 110.0),  # rounded: not 110.00000000000001
        ("water_level", 250.0),
        ("water_level", 112.345678901),  # to 9 decimals, far below any gauge's precision
    ]
    assert _reasons(parsed) == [
        (1, "record 1: unit 'ft' is not accepted for water_level (accepted: cm, m)"),
        (3, "record 3: no unit for water_level (accepted: cm, m)"),
        (4, "record 4: unit 'degC' is not accepted for water_temperature (accepted: Cel, K)"),
    ]


def test_air_quality_units_and_bounds() -> None:
    parsed = _parse(
        [
            {"bn": "aq-tr-2/", "n": "pm25", "u": "ug/m3", "v": 12.5},
            {"n": "pm10", "u": "kg/m3", "v": 1.2e-8},
            {"n": "no2", "u": "ug/m3", "v": -0.1},
            {"n": "so2", "u": "ug/m3", "v": 5000.5},
            {"n": "o3", "u": "ppm", "v": 0.05},
        ],
        device="aq-tr-2",
        allowed=frozenset({"pm25", "pm10", "no2", "o3", "so2"}),
    )
    assert [(r.quantity, r.value) for r in parsed.readings] == [("pm25", 12.5), ("pm10", 12.0)]
    assert _reasons(parsed) == [
        (2, "record 2: no2 -0.1 ug/m3 is outside 0..5000 ug/m3"),
        (3, "record 3: so2 5000.5 ug/m3 is outside 0..5000 ug/m3"),
        (4, "record 4: unit 'ppm' is not accepted for o3 (accepted: ug/m3, kg/m3)"),
    ]


def test_value_fields() -> None:
    parsed = _parse(
        [
            {"n": "occupied", "vb": True},
            {"n": "occupied", "vb": False, "t": -5},
            {"n": "occupied", "u": "/", "v": 1, "t": -10},
            {"n": "occupied", "v": 0.5, "t": -15},
            {"n": "occupied", "vb": 1, "t": -20},
            {"n": "occupied", "vs": "busy", "t": -25},
            {"n": "occupied", "vd": "AAE", "t": -30},
            {"n": "occupied", "v": 1, "vb": True, "t": -35},
            {"n": "occupied", "t": -40},
            {"n": "occupied", "s": 30, "t": -45},
            {"n": "occupied", "v": True, "t": -50},
        ],
        device="bay-1",
        allowed=frozenset({"occupied"}),
    )
    assert [(r.time, r.value) for r in parsed.readings] == [
        (NOW, 1.0),
        (NOW - timedelta(seconds=5), 0.0),
        (NOW - timedelta(seconds=10), 1.0),
    ]
    assert _reasons(parsed) == [
        (3, "record 3: occupied must be 0 or 1, got 0.5"),
        (4, "record 4: 'vb' must be true or false, got 1"),
        (5, "record 5: string values ('vs') are not accepted: no quantity holds text"),
        (6, "record 6: data values ('vd') are not accepted: no quantity holds binary data"),
        (7, "record 7: more than one value field"),
        (8, "record 8: no value field (v or vb)"),
        (9, "record 9: a sum without a value ('s' alone) is not stored: no quantity holds sums"),
        (10, "record 10: 'v' must be a finite number, got True"),
    ]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"v": 300, "vs": "high"}, "more than one value field"),
        ({"v": 300, "vd": "AAE"}, "more than one value field"),
        ({"vb": True, "vs": "high"}, "more than one value field"),
        ({"vb": True, "vd": "AAE"}, "more than one value field"),
        ({"v": 300, "s": "lots"}, "'s' must be a finite number, got 'lots'"),
        ({"v": 300, "ut": None}, "'ut' must be a finite number, got None"),
        ({"v": 300, "t": True}, "'t' must be a finite number, got True"),
        ({"v": 300, "u": 3}, "'u' must be a string, got 3"),
    ],
)
def test_values_sums_update_times_and_times_are_checked(
    record: dict[str, object], reason: str
) -> None:
    parsed = _parse([{"n": "water_level", "u": "cm"} | record])
    assert parsed.readings == []
    assert _reasons(parsed) == [(0, f"record 0: {reason}")]


def test_a_sum_and_an_update_time_beside_a_value_are_accepted() -> None:
    parsed = _parse([{"n": "water_level", "u": "cm", "v": 300, "s": 12.5, "ut": 900}])
    assert parsed.rejected == []
    assert [r.value for r in parsed.readings] == [300.0]


@pytest.mark.parametrize(
    ("base", "reason"),
    [
        ({"bs": "x"}, "'bs' must be a finite number, got 'x'"),
        ({"bv": None}, "'bv' must be a finite number, got None"),
        ({"bn": 5}, "'bn' must be a string, got 5"),
        ({"bu": ["m"]}, "'bu' must be a string, got ['m']"),
    ],
)
def test_every_unusable_base_field_refuses_the_rest_of_the_pack(
    base: dict[str, object], reason: str
) -> None:
    parsed = _parse(
        [
            {"n": "water_level", "u": "cm", "v": 300},
            {"n": "water_level", "u": "cm", "v": 301, "t": -1} | base,
            {"n": "water_level", "u": "cm", "v": 302, "t": -2},
            {"n": "water_level", "u": "cm", "v": 303, "t": -3},
        ]
    )
    assert [r.value for r in parsed.readings] == [300.0]
    later = f"not read: record 1 has an unusable base field ({reason}), and base fields carry"
    assert _reasons(parsed) == [
        (1, f"record 1: {reason}"),
        (2, f"record 2: {later} forward"),
        (3, f"record 3: {later} forward"),
    ]


def test_a_base_sum_is_not_stored_but_does_not_refuse() -> None:
    parsed = _parse([{"bs": 7, "n": "water_level", "u": "cm", "v": 300}])
    assert parsed.rejected == [] and [r.value for r in parsed.readings] == [300.0]


def test_base_fields_changing_mid_pack_apply_from_their_record_on() -> None:
    """The usual records after a change must not reuse what was resolved before it
    (a cached unit would store 4 m as 4 cm)."""
    parsed = _parse(
        [
            {"bu": "cm", "n": "water_level", "v": 400},
            {"n": "water_level", "v": 401, "t": -60},
            {"bu": "m", "n": "water_level", "v": 4.02, "t": -120},
            {"n": "water_level", "v": 4, "t": -180},
            {"bn": "gauge-1/water_", "n": "temperature", "u": "Cel", "v": 7.5},
            {"n": "temperature", "u": "Cel", "v": 7.25, "t": -60},
            {"bn": "gauge-1/", "bv": 1, "n": "water_level", "v": 2, "t": -240},
            {"n": "water_level", "v": 3, "t": -300},
            {"bt": -600, "n": "water_level", "v": 4},
        ]
    )
    assert parsed.rejected == []
    assert [(r.quantity, NOW - r.time, r.value) for r in parsed.readings] == [
        ("water_level", timedelta(0), 400.0),
        ("water_level", timedelta(seconds=60), 401.0),
        ("water_level", timedelta(seconds=120), 402.0),
        ("water_level", timedelta(seconds=180), 400.0),
        ("water_temperature", timedelta(0), 7.5),
        ("water_temperature", timedelta(seconds=60), 7.25),
        ("water_level", timedelta(seconds=240), 300.0),  # (1 + 2) m
        ("water_level", timedelta(seconds=300), 400.0),
        ("water_level", timedelta(seconds=600), 500.0),
    ]


def test_usual_records_take_the_fast_path_once_their_name_and_unit_resolved() -> None:
    """The fast path is what makes big packs cheap (``bench/parse_bench.py``): after the
    first record of each name and unit, the usual records (``n``, ``u``, ``v``, ``t``,
    numbers as ints or floats, any of ``n``, ``u``, ``t`` left out) skip the general path."""
    pack: list[dict[str, object]] = [{"bn": "gauge-1/", "bu": "cm", "bt": T0}]
    shapes = [
        lambda k: {"n": "water_level", "u": "m", "v": 3 + k / 100, "t": 60.0 * k},
        lambda k: {"n": "water_level", "v": 300 + k, "t": 60 * k + 30},
        lambda k: {"n": "water_temperature", "u": "Cel", "v": 7 + k, "t": 60 * k + 15.5},
        lambda k: {"u": "K", "n": "water_temperature", "v": 280.5, "t": 60 * k + 45},
    ]
    pack += [shape(k) for k in range(5) for shape in shapes]
    pack += [{"bn": "gauge-1/water_level", "bt": T0 + 1000}, {"u": "cm", "v": 400, "t": 1}]
    pack += [{"u": "cm", "v": 401}]  # no time: the base time
    general = senml._Pack.record
    slow: list[int] = []

    def spy(pack: senml._Pack, index: int, record: dict[str, Any]) -> None:
        slow.append(index)
        general(pack, index, record)

    with patch.object(senml._Pack, "record", spy):
        parsed = _parse(pack)
    assert _reasons(parsed) == [
        (0, "record 0: name 'gauge-1/' has no quantity after the device"),
        (21, "record 21: no value field (v or vb)"),
    ]
    assert len(parsed.readings) == 22
    assert slow == [0, 1, 2, 3, 4, 21, 22], "the first of each name and unit, base records"


def test_unusual_values_after_a_resolved_record_are_refused_as_on_their_own() -> None:
    """The fast path leaves every value and time it cannot take to the general path."""
    odd: list[tuple[dict[str, Any], str]] = [
        ({"v": True}, "'v' must be a finite number, got True"),
        ({"v": "4"}, "'v' must be a finite number, got '4'"),
        ({"v": None}, "'v' must be a finite number, got None"),
        ({"v": 1e301}, "water_level 1e+301 cm is outside"),
        ({"v": 10**400}, "'v' must be a finite number, got 1000000"),
        ({"t": True}, "'t' must be a finite number, got True"),
        ({"t": "now"}, "'t' must be a finite number, got 'now'"),
        ({"t": 1e301}, "time 1e+301 (absolute) is "),
        ({"t": -1e301}, "time -1e+301 (relative) is before 1990"),
        ({"n": ["water_level"]}, "'n' must be a string, got ['water_level']"),
        ({"u": {"cm": 1}}, "'u' must be a string, got {'cm': 1}"),
    ]
    usual = {"n": "water_level", "u": "cm", "v": 300}
    parsed = _parse([usual] + [usual | {"t": -1 - k} | change for k, (change, _) in enumerate(odd)])
    assert len(parsed.readings) == 1
    reasons = _reasons(parsed)
    assert [i for i, _ in reasons] == list(range(1, len(odd) + 1))
    for (index, reason), (_, expected) in zip(reasons, odd, strict=True):
        assert reason.startswith(f"record {index}: {expected}"), reason


def test_a_name_does_not_carry_over_to_the_next_record() -> None:
    parsed = _parse(
        [
            {"n": "water_level", "u": "cm", "v": 300},
            {"u": "cm", "v": 301, "t": -60},
            {"bn": "gauge-1/water_level", "u": "cm", "v": 302, "t": -120},
            {"u": "cm", "v": 303, "t": -180},  # bn does carry over
        ]
    )
    assert [r.value for r in parsed.readings] == [300.0, 302.0, 303.0]
    assert _reasons(parsed) == [(1, "record 1: no name (n or bn)")]


def test_base_value_and_boolean_on_a_numeric_quantity() -> None:
    parsed = _parse(
        [
            {"bn": "gauge-1/", "bu": "cm", "bv": 300, "n": "water_level", "v": 12},
            {"n": "water_level", "v": -3, "t": 60},
            {"n": "water_level", "vb": True, "t": 120},
        ]
    )
    assert [r.value for r in parsed.readings] == [312.0, 297.0]
    assert _reasons(parsed) == [
        (2, "record 2: water_level takes a number ('v'), not a boolean ('vb')"),
    ]


def test_counts_must_be_whole_and_not_negative() -> None:
    parsed = _parse(
        [
            {"n": "occupied_spaces", "u": "count", "v": 41},
            {"n": "free_spaces", "v": 9},
            {"n": "occupied_spaces", "u": "count", "v": 3.5, "t": -60},
            {"n": "free_spaces", "v": -1, "t": -60},
        ],
        device="lot-piata-counter",
        allowed=frozenset({"occupied_spaces", "free_spaces"}),
    )
    assert [(r.quantity, r.value) for r in parsed.readings] == [
        ("occupied_spaces", 41.0),
        ("free_spaces", 9.0),
    ]
    assert _reasons(parsed) == [
        (2, "record 2: occupied_spaces must be a whole number, got 3.5"),
        (3, "record 3: free_spaces -1 count is outside 0..100000 count"),
    ]


def test_unknown_and_unregistered_quantities() -> None:
    parsed = _parse(
        [
            {"n": "water_level", "u": "cm", "v": 1},
            {"n": "flow", "u": "m3/s", "v": 2870},
            {"n": "pm25", "u": "ug/m3", "v": 3},
        ]
    )
    assert [r.quantity for r in parsed.readings] == ["water_level"]
    reasons = _reasons(parsed)
    assert reasons[0][1].startswith("record 1: unknown quantity 'flow' (known: alt, battery,")
    assert reasons[1] == (
        2,
        "record 2: device 'gauge-1' does not report 'pm25';"
        " registered quantities: ['water_level', 'water_temperature']",
    )


def test_unknown_fields_are_ignored_unless_must_understand() -> None:
    parsed = _parse(
        [
            {"n": "water_level", "u": "cm", "v": 300, "l": "[]", "ct": "x", "extra": 1},
            {"n": "water_level", "u": "cm", "v": 301, "t": -1, "calibrated_": True},
            {"bn": "gauge-1/", "n": "water_level", "u": "cm", "v": 302, "t": -2},
            {"bnext_": 1, "n": "water_level", "u": "cm", "v": 303, "t": -3},
            {"n": "water_level", "u": "cm", "v": 304, "t": -4},
        ]
    )
    assert [r.value for r in parsed.readings] == [300.0, 302.0]
    assert _reasons(parsed) == [
        (1, "record 1: unknown must-understand field 'calibrated_' (RFC 8428 §4.4)"),
        (3, "record 3: unknown must-understand base field 'bnext_' (RFC 8428 §4.4)"),
        (
            4,
            "record 4: not read: record 3 has an unknown must-understand base field 'bnext_',"
            " and base fields carry forward",
        ),
    ]


def test_a_bad_base_field_refuses_the_rest_of_the_pack() -> None:
    parsed = _parse(
        [
            {"bt": T0, "n": "water_level", "u": "cm", "v": 300},
            {"bt": "11:00", "n": "water_level", "u": "cm", "v": 301},
            {"n": "water_level", "u": "cm", "v": 302, "t": 60},
        ]
    )
    assert [r.value for r in parsed.readings] == [300.0]
    assert _reasons(parsed) == [
        (1, "record 1: 'bt' must be a finite number, got '11:00'"),
        (
            2,
            "record 2: not read: record 1 has an unusable base field ('bt' must be a finite"
            " number, got '11:00'), and base fields carry forward",
        ),
    ]


@pytest.mark.parametrize(
    ("versions", "stored", "reason"),
    [
        ((None, None), 2, None),
        ((10, None), 2, None),
        ((26, 26), 2, None),
        ((5, None), 0, "record 0: bver 5 is not supported (accepted: [10, 26])"),
        ((True, None), 0, "record 0: bver True is not supported (accepted: [10, 26])"),
        ((None, 26), 1, "record 1: bver 26 differs from the pack's bver 10"),
        ((26, 10), 1, "record 1: bver 10 differs from the pack's bver 26"),
    ],
)
def test_versions(versions: tuple[object, object], stored: int, reason: str | None) -> None:
    records: list[dict[str, object]] = []
    for t, version in enumerate(versions):
        record: dict[str, object] = {"n": "water_level", "u": "cm", "v": 300, "t": -t}
        if version is not None:
            record["bver"] = version
        records.append(record)
    parsed = _parse(records)
    assert len(parsed.readings) == stored
    assert (parsed.rejected[0].reason if parsed.rejected else None) == reason


def test_the_version_of_a_pack_without_bver_is_10_from_its_first_record() -> None:
    parsed = _parse(
        [
            {"bn": "gauge-1/", "n": "water_level", "u": "cm", "v": 300},
            {"bver": 26, "n": "water_level", "u": "cm", "v": 301, "t": -1},
        ]
    )
    assert _reasons(parsed)[0] == (1, "record 1: bver 26 differs from the pack's bver 10")


def test_duplicates_in_one_pack_are_refused() -> None:
    parsed = _parse(
        [
            {"bt": T0, "n": "water_level", "u": "cm", "v": 300},
            {"n": "water_level", "u": "m", "v": 3.01},
            {"n": "water_temperature", "u": "Cel", "v": 7},
        ]
    )
    assert [r.value for r in parsed.readings] == [300.0, 7.0]
    assert _reasons(parsed) == [
        (1, "record 1: second water_level at 2026-11-23T11:00:00+00:00 (first: record 0)"),
    ]


def test_non_object_records_are_refused_one_by_one() -> None:
    parsed = _parse([{"n": "water_level", "u": "cm", "v": 300}, 5, None, ["n"]])
    assert len(parsed.readings) == 1
    assert _reasons(parsed) == [
        (1, "record 1: expected a JSON object, got int"),
        (2, "record 2: expected a JSON object, got NoneType"),
        (3, "record 3: expected a JSON object, got list"),
    ]


CBOR = "payload looks like CBOR (application/senml+cbor): only application/senml+json is accepted"
XML = "payload looks like XML (application/senml+xml): only application/senml+json is accepted"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"n": "water_level", "v": 1}', "a SenML pack must be a JSON array of records, got dict"),
        (b"[]", "empty SenML pack"),
        (b"  \n[", "malformed JSON: Expecting value at line 2 column 2"),
        (b"\x81\xa1\x00\x62", CBOR),
        (b"\x80", CBOR),  # CBOR arrays: 0x80 to 0x9F
        (b"\x9f\xff", CBOR),
        (b"\xa0", "payload is not UTF-8: invalid start byte at byte 0"),  # a CBOR map
        (b"<sensml xmlns='urn:ietf:params:xml:ns:senml'/>", XML),
        (b" \n<sensml/>", XML),
        (b" " * 63 + b"<sensml/>", XML),
        (b" " * 64 + b"<sensml/>", "malformed JSON"),  # sniffed in the first 64 bytes only
        (b'[{"n": "w\xe9"}]', "payload is not UTF-8: invalid continuation byte at byte 9"),
        (b"[" + b"1" * 5000 + b"]", "malformed JSON: Exceeds the limit"),
        (b"[" * 100_000, "malformed JSON: nested too deeply"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), f"payload of {MAX_PAYLOAD_BYTES + 1} bytes exceeds"),
    ],
)
def test_unusable_packs(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        senml.parse(payload, "gauge-1", NOW, GAUGE)
    assert caught.value.reason.startswith(reason)
    assert caught.value.record_index is None


def test_non_finite_and_huge_numbers() -> None:
    payload = (
        b'[{"n": "water_level", "u": "cm", "v": NaN},'
        b' {"n": "water_level", "u": "cm", "v": 1e999, "t": -1},'
        b' {"n": "water_level", "u": "cm", "v": 1' + b"0" * 400 + b', "t": -2},'
        b' {"n": "water_level", "u": "cm", "v": 1, "t": -Infinity}]'
    )
    parsed = senml.parse(payload, "gauge-1", NOW, GAUGE)
    assert parsed.readings == []
    assert [r for _, r in _reasons(parsed)][:2] == [
        "record 0: 'v' must be a finite number, got nan",
        "record 1: 'v' must be a finite number, got inf",
    ]
    assert _reasons(parsed)[2][1].startswith("record 2: 'v' must be a finite number, got 1000")
    assert _reasons(parsed)[3] == (3, "record 3: 't' must be a finite number, got -inf")


DRONE = frozenset({"water_surface_level", "pm25"})


def test_drone_pack_yields_track_and_positioned_observations() -> None:
    parsed = _parse(
        [
            {"bn": "urn:dev:id:drone-7:", "bt": T0, "n": "lat", "u": "lat", "v": 43.7421},
            {"n": "lon", "u": "lon", "v": 24.8602},
            {"n": "alt", "u": "m", "v": 48.5},
            {"n": "water_surface_level", "u": "m", "v": 21.37},
            {"n": "pm25", "u": "ug/m3", "v": 8.5},
            {"t": 30, "n": "water_surface_level", "u": "cm", "v": 2141},
            {"t": 30, "n": "lon", "u": "lon", "v": 24.8610},
            {"t": 30, "n": "lat", "u": "lat", "v": 43.7425},
        ],
        device="drone-7",
        allowed=DRONE,
        drone=True,
    )
    assert parsed.rejected == []
    assert [(p.drone_id, p.time, p.lon, p.lat, p.alt) for p in parsed.track] == [
        ("drone-7", _at(0), 24.8602, 43.7421, 48.5),
        ("drone-7", _at(0.5), 24.8610, 43.7425, None),
    ]
    assert [(r.device_id, r.quantity, r.time, r.value) for r in parsed.readings] == [
        ("drone-7", "water_surface_level", _at(0), 21.37),
        ("drone-7", "pm25", _at(0), 8.5),
        ("drone-7", "water_surface_level", _at(0.5), 21.41),
    ]


def test_drone_observation_without_position_is_refused() -> None:
    parsed = _parse(
        [
            {"bt": T0, "n": "lat", "u": "lat", "v": 43.74},
            {"n": "lon", "u": "lon", "v": 24.86},
            {"n": "pm25", "u": "ug/m3", "v": 9, "t": 10},
            {"n": "lat", "u": "lat", "v": 43.75, "t": 20},
            {"n": "pm25", "u": "ug/m3", "v": 10, "t": 20},
            {"n": "lat", "u": "lat", "v": 91, "t": 30},
            {"n": "lon", "u": "lon", "v": 24.87, "t": 30},
            {"n": "pm25", "u": "ug/m3", "v": 11, "t": 30},
            {"n": "pm25", "u": "ug/m3", "v": 12},
        ],
        device="drone-7",
        allowed=DRONE,
        drone=True,
    )
    assert [(p.time, p.lat) for p in parsed.track] == [(_at(0), 43.74)]
    assert [(r.time, r.value) for r in parsed.readings] == [(_at(0), 12.0)]
    assert _reasons(parsed) == [
        (
            2,
            "record 2: pm25 at 2026-11-23T11:00:10+00:00 has no position:"
            " the pack has no lat and lon at that time",
        ),
        (3, "record 3: lat at 2026-11-23T11:00:20+00:00 has no lon at that time"),
        (
            4,
            "record 4: pm25 at 2026-11-23T11:00:20+00:00 has no position:"
            " the pack has no lat and lon at that time",
        ),
        (5, "record 5: lat 91 lat is outside -90..90 lat"),
        (6, "record 6: lon at 2026-11-23T11:00:30+00:00 has no lat at that time"),
        (
            7,
            "record 7: pm25 at 2026-11-23T11:00:30+00:00 has no position:"
            " the pack has no lat and lon at that time",
        ),
    ]


def test_position_names_are_implicit_for_drones_only() -> None:
    records = [{"n": "lat", "u": "lat", "v": 43.74}, {"n": "lon", "u": "lon", "v": 24.86}]
    as_drone = _parse(records, device="drone-7", allowed=DRONE, drone=True)
    assert len(as_drone.track) == 1 and as_drone.rejected == []
    as_device = _parse(records, device="gauge-1")
    assert as_device.readings == []
    assert _reasons(as_device)[0][1].startswith("record 0: device 'gauge-1' does not report 'lat'")


def test_a_drone_reports_its_registered_quantities_only() -> None:
    parsed = _parse(
        [{"n": "lat", "u": "lat", "v": 43.74}, {"n": "water_level", "u": "cm", "v": 300}],
        device="drone-7",
        allowed=DRONE,
        drone=True,
    )
    assert _reasons(parsed)[-1] == (
        1,
        "record 1: drone 'drone-7' does not report 'water_level';"
        " registered quantities: ['pm25', 'water_surface_level']",
    )


def test_drone_names_follow_the_name_rule() -> None:
    parsed = _parse(
        [
            {"bn": "drone-7/", "n": "lat", "u": "lat", "v": 43.74},
            {"bn": "drone-8/", "n": "lon", "u": "lon", "v": 24.86},
        ],
        device="drone-7",
        allowed=DRONE,
        drone=True,
    )
    assert parsed.track == []
    assert _reasons(parsed) == [
        (0, "record 0: lat at 2026-11-23T12:00:00+00:00 has no lon at that time"),
        (1, "record 1: name 'drone-8/lon' names device 'drone-8', not 'drone-7' of the topic"),
    ]


def test_altitude_alone_is_no_position() -> None:
    parsed = _parse(
        [{"n": "alt", "u": "m", "v": 40}, {"n": "pm25", "u": "ug/m3", "v": 3}],
        device="drone-7",
        allowed=DRONE,
        drone=True,
    )
    assert parsed.track == [] and parsed.readings == []
    assert _reasons(parsed) == [
        (0, "record 0: alt at 2026-11-23T12:00:00+00:00 has no lat and lon at that time"),
        (
            1,
            "record 1: pm25 at 2026-11-23T12:00:00+00:00 has no position:"
            " the pack has no lat and lon at that time",
        ),
    ]


ABSENT = "absent"
"""In a pool of label values: leave the label out."""


def _labels(pools: dict[str, list[Any] | st.SearchStrategy[Any]]) -> st.SearchStrategy[dict]:
    """Records drawing each label from its pool (repeats weigh a value), ABSENT left out."""
    drawn = {
        label: pool if isinstance(pool, st.SearchStrategy) else st.sampled_from(pool)
        for label, pool in pools.items()
    }
    return st.fixed_dictionaries(drawn).map(
        lambda record: {k: v for k, v in record.items() if v != ABSENT}
    )


NAME_UNITS = [
    *[("water_level", "cm"), ("water_level", "m"), ("water_level", ABSENT)] * 3,
    *[("water_temperature", "Cel"), ("water_temperature", "K"), ("water_temperature", ABSENT)],
    ("gauge-1/water_level", "cm"),
    ("occupied", "/"),
    ("occupied", ABSENT),
    *[(ABSENT, "cm"), (ABSENT, ABSENT)],  # the name is the base name
    *[("lat", "lat"), ("lon", "lon"), ("water_surface_level", "m"), ("pm25", "ug/m3")],
    *[("water_level", ""), ("level", "cm"), (7, "cm"), ("water_level", 3)],
]
"""Names and units, mostly matching (or left to the base unit), a few not."""
NAMES = sorted({n for n, _ in NAME_UNITS if isinstance(n, str) and n != ABSENT})
usual_records = st.tuples(
    st.sampled_from(NAME_UNITS),
    st.sampled_from([0, 1, 4, 3.12, 7.5, 300, -2, 0, 1, 4, 7.5, 300, 1e301, 10**400, True]),
    st.one_of(
        st.integers(-3600, 0),
        st.integers(-3600, 0),
        st.sampled_from([ABSENT, ABSENT, 400, T0, -1e301, True]),
    ),
).map(
    lambda drawn: {
        label: value
        for label, value in zip("nuvt", (*drawn[0], *drawn[1:]), strict=True)
        if value != ABSENT
    }
)
"""The records the fast path takes (``n``, ``u``, ``v``, ``t``), from small pools so that
names and units repeat as in real packs, some of them unusable."""
base_fields = st.lists(
    st.sampled_from(
        [
            *[{"bu": "cm"}, {"bu": "m"}] * 3,
            *[{"bn": ""}, {"bn": "gauge-1/"}, {"bn": "urn:dev:id:gauge-1:"}],
            {"bn": "gauge-1/water_"},
            *[{"bu": "Cel"}, {"bu": ""}, {"bt": T0}, {"bt": -90}, {"bv": 10}, {"bv": -0.5}],
            *[{"bs": 2.5}, {"bver": 10}],
        ]
    ),
    min_size=1,
    max_size=3,
).map(lambda fields: {k: v for field in fields for k, v in field.items()})
base_records = base_fields.flatmap(
    lambda base: usual_records.map(lambda usual: base | usual) | st.just(base)
)
"""Base fields changing mid-pack, alone or on a record with a value: what was resolved
before them no longer holds."""
poison_records = st.sampled_from(
    [{"bt": "11:00"}, {"bv": True}, {"bs": "x"}, {"bver": 5}, {"bver": 26}, {"bx_": 1}]
    + [{"bn": "g2/"}, {"bu": None}]
).flatmap(lambda bad: usual_records.map(lambda usual: bad | usual) | st.just(bad))
"""Unusable base fields (a ``bver`` change among them): the rest of the pack is refused."""
odd_records = _labels(
    {
        "n": [*NAMES, 7],
        "u": ["cm", "m", "Cel", "/", 3, ABSENT],
        "v": [1, 300, "x", ABSENT, ABSENT],
        "vb": [True, False, 1, ABSENT, ABSENT, ABSENT],
        "vs": ["high", ABSENT, ABSENT],
        "vd": ["AAE", ABSENT, ABSENT],
        "s": [3, "x", ABSENT, ABSENT],
        "t": [-10, True, ABSENT, ABSENT],
        "ut": [60, "x", ABSENT, ABSENT],
        "x_": [1, ABSENT, ABSENT, ABSENT, ABSENT],
        "note": ["x", ABSENT],
    }
)
"""Any mix of the other labels: two value fields, sums, update times, extensions."""
records = st.one_of(usual_records, usual_records, usual_records, base_records, odd_records)
packs = st.one_of(
    st.lists(records, min_size=1, max_size=25),
    st.lists(records, min_size=1, max_size=25),
    st.lists(records, min_size=1, max_size=25),
    st.tuples(st.lists(records, max_size=12), poison_records, st.lists(records, max_size=12)).map(
        lambda parts: [*parts[0], parts[1], *parts[2]]
    ),
)


def _outcome(parsed: senml.Parsed) -> tuple[object, ...]:
    return (
        [(r.device_id, r.quantity, r.time, r.value) for r in parsed.readings],
        [(p.time, p.lon, p.lat, p.alt) for p in parsed.track],
        _reasons(parsed),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    [{"bu": "cm"}, {"n": "water_level", "v": 1}, {"bu": "m"}, {"n": "water_level", "v": 2}], False
)
@example(
    [{"n": "occupied", "u": "/", "v": 1}, {"bn": "g2/"}, {"n": "occupied", "u": "/", "v": 0}], False
)
@given(packs, st.booleans())
def test_fast_path_decides_as_the_general_path(pack: list[dict[str, Any]], drone: bool) -> None:
    """The fast path for usual records stores and refuses exactly what the general path
    does, whatever the base fields, value fields and labels around them."""
    payload = json.dumps(pack).encode()
    device, allowed = ("drone-7", DRONE) if drone else ("gauge-1", GAUGE | {"occupied"})
    fast = senml.parse(payload, device, NOW, allowed, drone=drone)
    with patch.object(senml._Pack, "fast", lambda *_: False):
        general = senml.parse(payload, device, NOW, allowed, drone=drone)
    assert _outcome(fast) == _outcome(general)
