"""Energy meters over MQTT: which ingested quantities are activity data, and as what.

A meter is a device of kind :data:`METER_KIND` attached to a twin asset. It reports the
energy (or gas volume) consumed *since its previous report* — an interval, not the
register's index — in the quantities below (``ingest_mqtt/quantities.py`` holds their
canonical units, accepted SenML units and bounds). Intervals were chosen over the index
because the hub's daily rollups keep sums for ever, so a month's consumption is a sum of
daily sums, without a reading from before the month and without handling a meter
replaced or rolled over. A reading counts in the UTC month of its timestamp: a meter
that reports monthly should stamp its reading inside the month it covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from carbon.factors import Carrier

METER_KIND = "energy_meter"
"""The twin device kind of an energy meter."""


@dataclass(frozen=True, slots=True)
class MeterQuantity:
    """An ingested quantity that is activity data: its carrier and canonical unit."""

    carrier: Carrier
    unit: str
    """The unit of the factor table's conversions that the canonical unit is."""


METER_QUANTITIES: Mapping[str, MeterQuantity] = {
    "electricity_energy": MeterQuantity(Carrier.ELECTRICITY, "kWh"),
    "gas_volume": MeterQuantity(Carrier.NATURAL_GAS, "m3"),
    "gas_energy": MeterQuantity(Carrier.NATURAL_GAS, "kWh"),
    "heat_energy": MeterQuantity(Carrier.DISTRICT_HEAT, "kWh"),
}
"""Meter quantities by name (names as in ``ingest_mqtt.quantities``)."""
