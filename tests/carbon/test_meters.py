"""Energy meters over MQTT: a SenML pack in any accepted unit is stored in the meter
quantity's canonical unit, which is the unit the inventory converts from; a negative
consumption is dead-lettered."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from carbon.factors import default_table
from carbon.meters import METER_QUANTITIES
from ingest_mqtt.decode import Incoming, decode
from ingest_mqtt.quantities import QUANTITIES

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _decode(records: list[dict]) -> tuple[dict[str, float], list[str]]:
    message = Incoming("city/devices/hall-meter/senml", json.dumps(records).encode(), 1, 1, NOW)
    decoded = decode([message], "city", lambda _: frozenset(METER_QUANTITIES))
    return (
        {r.quantity: r.value for r in decoded.readings},
        [d.reason for d in decoded.dead_letters],
    )


def test_senml_units_arrive_in_the_units_the_inventory_converts() -> None:
    stored, refused = _decode(
        [
            {
                "bn": "hall-meter/",
                "bt": NOW.timestamp() - 60,
                "n": "electricity_energy",
                "u": "Wh",
                "v": 1500,
            },
            {"n": "gas_volume", "u": "l", "v": 2500},
            {"n": "heat_energy", "u": "J", "v": 7.2e9},
            {"n": "gas_energy", "u": "kWh", "v": 12.5},
        ]
    )
    assert refused == []
    assert stored == {
        "electricity_energy": 1.5,
        "gas_volume": 2.5,
        "heat_energy": 2000.0,
        "gas_energy": 12.5,
    }
    table = default_table()
    for name, meter in METER_QUANTITIES.items():
        assert QUANTITIES[name].unit == meter.unit
        table.conversion(meter.carrier, meter.unit)  # the inventory can convert it


def test_a_negative_consumption_is_refused() -> None:
    stored, refused = _decode(
        [{"bn": "hall-meter/", "n": "electricity_energy", "u": "kWh", "v": -3}]
    )
    assert stored == {} and len(refused) == 1 and "outside 0..1e+06 kWh" in refused[0]


@pytest.mark.parametrize("name", sorted(METER_QUANTITIES))
def test_every_meter_quantity_is_an_ingested_quantity(name: str) -> None:
    assert QUANTITIES[name].low == 0.0
