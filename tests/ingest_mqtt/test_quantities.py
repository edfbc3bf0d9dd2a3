from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest_mqtt import senml
from ingest_mqtt.quantities import IDENTITY, QUANTITIES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"


@pytest.mark.parametrize(
    ("quantity", "unit", "low", "high"),
    [
        ("water_level", "cm", -300, 1500),
        ("water_temperature", "Cel", -5, 40),
        ("water_surface_level", "m", -10, 100),
        ("temperature", "Cel", -50, 60),
        ("humidity", "%RH", 0, 100),
        ("battery", "%EL", 0, 100),
        ("pm25", "ug/m3", 0, 5000),
        ("so2", "ug/m3", 0, 5000),
        ("occupied_spaces", "count", 0, 100_000),
        ("lat", "lat", -90, 90),
        ("lon", "lon", -180, 180),
        ("alt", "m", -500, 10_000),
    ],
)
def test_bounds_are_inclusive(quantity: str, unit: str, low: float, high: float) -> None:
    q = QUANTITIES[quantity]
    assert (q.unit, q.low, q.high) == (unit, low, high)
    assert q.problem(float(low)) is None and q.problem(float(high)) is None
    step = 1.0 if q.integral else 0.01
    assert (
        q.problem(low - step) == f"{quantity} {low - step:g} {unit} is outside {low}..{high} {unit}"
    )
    assert q.problem(high + step) is not None


@pytest.mark.parametrize(
    ("quantity", "unit", "value", "stored"),
    [
        ("water_level", "m", -0.42, -42.0),
        ("water_level", "cm", 590, 590.0),
        ("water_temperature", "K", 273.25, 0.1),
        ("temperature", "K", 300.15, 27.0),
        ("water_surface_level", "cm", 2137, 21.37),
        ("pm10", "kg/m3", 4.5e-8, 45.0),
        ("battery", "%", 80, 80.0),
        ("battery", "/100", 80, 80.0),
        ("humidity", "%RH", 55.5, 55.5),
    ],
)
def test_senml_units_convert_to_the_canonical_unit(
    quantity: str, unit: str, value: float, stored: float
) -> None:
    pack = [{"n": quantity, "u": unit, "v": value}]
    parsed = senml.parse(json.dumps(pack).encode(), "d", NOW)
    assert parsed.rejected == []
    assert [r.value for r in parsed.readings] == [stored]


def test_every_canonical_unit_is_accepted_as_is() -> None:
    for q in QUANTITIES.values():
        canonical = None if q.unit == "1" else q.unit
        assert q.senml_units[canonical] is IDENTITY, q.name


def test_docs_unit_table_matches_the_module() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", text, re.MULTILINE)}
    for q in QUANTITIES.values():
        assert q.name in rows, q.name
        for unit in q.senml_units:
            assert ("none" if unit is None else f"`{unit}`") in rows[q.name], (q.name, unit)
