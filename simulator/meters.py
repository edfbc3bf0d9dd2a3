"""Energy meters of the demo's municipal buildings: believable daily consumption.

Every figure here is an *illustrative* default, of the order of magnitude of Romanian
public buildings, not a measurement: per pupil a year about 75 kWh of electricity and
55 m³ of natural gas (a school of 950 pupils: about 71 MWh and 52,000 m³, 500 MWh of
heat); per hospital bed 6,500 kWh and 900 m³; a town hall 110 MWh and 25,000 m³. Gas
follows the heating season (monthly weights shaped after heating degree days on the
lower Danube, *unconfirmed*) over a base load; schools use little in the summer
holidays; weekends use less. Values are a pure function of seed, meter and day, so a
history filled twice is the same.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

import numpy as np

from simulator.signals import seeded_rng

HEATING = (0.20, 0.17, 0.13, 0.07, 0.02, 0.0, 0.0, 0.0, 0.01, 0.07, 0.13, 0.20)
"""Share of a year's heating in each month, January first (sums to 1)."""
LIGHTING = (1.12, 1.05, 1.0, 0.95, 0.9, 0.86, 0.88, 0.92, 0.98, 1.04, 1.1, 1.2)
"""Electricity of a building by month, relative: more light in the dark months."""
SCHOOL_TERM = (1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.35, 0.35, 0.9, 1.0, 1.0, 0.95)
"""A school's use by month relative to term time: holidays from mid-June to mid-September."""
NOISE_SIGMA = 0.08
"""Day-to-day spread (lognormal sigma) of a meter's consumption."""


@dataclass(frozen=True, slots=True)
class Usage:
    """A kind of building's yearly consumption per unit of capacity (pupil, bed) or whole."""

    electricity_kwh: float
    gas_m3: float
    per_capacity: bool
    gas_base_share: float
    """Share of gas that is not heating (hot water, kitchens, sterilisation)."""
    weekend: float
    """A weekend day's use relative to a weekday's."""
    school: bool = False


USAGE: Mapping[str, Usage] = MappingProxyType(
    {
        "town_hall": Usage(110_000.0, 25_000.0, False, 0.1, 0.35),
        "hospital": Usage(6_500.0, 900.0, True, 0.3, 0.9),
        "high_school": Usage(75.0, 55.0, True, 0.05, 0.3, school=True),
        "school": Usage(75.0, 55.0, True, 0.05, 0.3, school=True),
        "kindergarten": Usage(120.0, 90.0, True, 0.1, 0.3, school=True),
    }
)
"""Yearly use by asset kind; a kind not here has no meters in the demo."""

METER_QUANTITIES = ("electricity_energy", "gas_volume")
"""What the demo's meters report: kWh of electricity, m³ of natural gas."""


def yearly(kind: str, capacity: float, quantity: str) -> float | None:
    """A year's consumption of an asset of ``kind`` and ``capacity`` (pupils, beds) in
    the quantity's unit, or None for a kind without meters."""
    usage = USAGE.get(kind)
    if usage is None:
        return None
    scale = max(capacity, 1.0) if usage.per_capacity else 1.0
    base = usage.electricity_kwh if quantity == "electricity_energy" else usage.gas_m3
    return base * scale


def _month_weight(usage: Usage, quantity: str, month: int) -> float:
    """The share of a year's consumption in ``month``."""
    if quantity == "electricity_energy":
        weights = [LIGHTING[m] * (SCHOOL_TERM[m] if usage.school else 1.0) for m in range(12)]
        return weights[month - 1] / sum(weights)
    term = SCHOOL_TERM[month - 1] if usage.school else 1.0
    base = usage.gas_base_share * term / sum(SCHOOL_TERM if usage.school else (1.0,) * 12)
    return base + (1.0 - usage.gas_base_share) * HEATING[month - 1]


def daily(
    seed: int, meter_id: str, kind: str, capacity: float, quantity: str, days: Sequence[date]
) -> np.ndarray:
    """The consumption of each of ``days`` (kWh or m³), the same for the same arguments."""
    usage = USAGE[kind]
    year_total = yearly(kind, capacity, quantity)
    assert year_total is not None  # USAGE has the kind
    noise: dict[int, np.ndarray] = {}
    out = np.empty(len(days))
    for i, day in enumerate(days):
        if day.year not in noise:
            rng = seeded_rng(seed, f"meter:{meter_id}:{day.year}")
            noise[day.year] = rng.lognormal(-(NOISE_SIGMA**2) / 2, NOISE_SIGMA, 366)
        month_days = calendar.monthrange(day.year, day.month)[1]
        weekend_days = sum(
            1 for d in range(1, month_days + 1) if date(day.year, day.month, d).weekday() >= 5
        )
        mean_factor = (month_days - weekend_days + weekend_days * usage.weekend) / month_days
        factor = (usage.weekend if day.weekday() >= 5 else 1.0) / mean_factor
        month_share = _month_weight(usage, quantity, day.month)
        value = year_total * month_share / month_days * factor
        out[i] = value * noise[day.year][day.timetuple().tm_yday - 1]
    return out
