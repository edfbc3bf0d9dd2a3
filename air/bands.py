"""The European Air Quality Index band tables: versioned data, each with its source.

A table gives, per pollutant, the upper bounds (µg/m³) of the bands good, fair,
moderate, poor and very poor; above the last bound the band is extremely poor (open
ended). A concentration *equal* to a bound belongs to the lower band: the tables are
published as ranges "0–5, 5–15, …" read as upper bounds, as the EEA writes them, so 5
µg/m³ of PM2.5 is still good and 5.01 is fair.

Two tables are kept so that a report recomputes as it was published:

- ``2024`` (the default): the EEA's revision of the bands (ETC HE Report 2024/17, "EEA's
  revision of the European Air Quality Index bands"; the bands on the EEA's airindex
  site), on hourly concentrations of all five pollutants;
- ``pre-2024``: the table before that revision, with PM2.5 and PM10 on 24-hour running
  means (the other pollutants hourly).

Values from ``../shared/DOMAIN.md`` ("Air quality: European Air Quality Index").
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from air.errors import UnknownBandTable

POLLUTANTS = ("pm25", "pm10", "no2", "o3", "so2")
"""The index's five pollutants, as the hub's quantities name them (µg/m³)."""

LEVELS = ("good", "fair", "moderate", "poor", "very poor", "extremely poor")
"""The band names, best first: a band is its position here (0 good .. 5 extremely poor)."""

COLOURS: tuple[tuple[int, int, int], ...] = (
    (80, 240, 230),
    (80, 204, 170),
    (240, 230, 65),
    (255, 80, 80),
    (150, 0, 50),
    (125, 33, 129),
)
"""The EEA's colour of each band (RGB), as the map draws them."""


@dataclass(frozen=True)
class BandTable:
    """One published version of the index: its bounds and how each pollutant is averaged."""

    version: str
    source: str
    in_use_from: date | None
    """When the EEA started publishing with it (None: before the hub's history)."""
    upper: Mapping[str, tuple[float, float, float, float, float]]
    """Upper bounds of good .. very poor per pollutant (µg/m³), increasing."""
    averaging_hours: Mapping[str, int]
    """Hours over which each pollutant's hourly means are averaged (1: the hour itself,
    24: a 24-hour running mean ending with the hour)."""

    def __post_init__(self) -> None:
        """Refuse a table missing a pollutant or whose bounds do not increase."""
        for pollutant in POLLUTANTS:
            bounds = self.upper.get(pollutant)
            if bounds is None or pollutant not in self.averaging_hours:
                raise ValueError(f"table {self.version}: no bounds or averaging for {pollutant}")
            if any(b >= a for b, a in zip(bounds, bounds[1:], strict=False)) or bounds[0] <= 0:
                raise ValueError(f"table {self.version}: bounds of {pollutant} must increase")

    def band(self, pollutant: str, concentration: float) -> int:
        """The band (0 good .. 5 extremely poor) of ``concentration`` of ``pollutant``;
        a value equal to a bound is in the lower band."""
        return bisect_left(self.upper[pollutant], concentration)

    def describe(self) -> dict[str, object]:
        """The table as data, for the API and reports."""
        return {
            "version": self.version,
            "source": self.source,
            "in_use_from": None if self.in_use_from is None else self.in_use_from.isoformat(),
            "levels": list(LEVELS),
            "upper_bounds": {p: list(self.upper[p]) for p in POLLUTANTS},
            "averaging_hours": dict(self.averaging_hours),
            "boundary": "a value equal to an upper bound belongs to the lower band",
        }


EAQI_2024 = BandTable(
    version="2024",
    source=(
        "EEA, European Air Quality Index, bands revised in 2024 (ETC HE Report 2024/17,"
        " 'EEA's revision of the European Air Quality Index bands'); hourly"
        " concentrations of all five pollutants"
    ),
    in_use_from=date(2024, 1, 1),
    upper={
        "pm25": (5, 15, 50, 90, 140),
        "pm10": (15, 45, 120, 195, 270),
        "no2": (10, 25, 60, 100, 150),
        "o3": (60, 100, 120, 160, 180),
        "so2": (20, 40, 125, 190, 275),
    },
    averaging_hours={p: 1 for p in POLLUTANTS},
)

EAQI_PRE_2024 = BandTable(
    version="pre-2024",
    source=(
        "EEA, European Air Quality Index, bands in use before the 2024 revision;"
        " PM2.5 and PM10 on 24-hour running means, NO2, O3 and SO2 hourly"
    ),
    in_use_from=None,
    upper={
        "pm25": (10, 20, 25, 50, 75),
        "pm10": (20, 40, 50, 100, 150),
        "no2": (40, 90, 120, 230, 340),
        "o3": (50, 100, 130, 240, 380),
        "so2": (100, 200, 350, 500, 750),
    },
    averaging_hours={"pm25": 24, "pm10": 24, "no2": 1, "o3": 1, "so2": 1},
)

TABLES: Mapping[str, BandTable] = {t.version: t for t in (EAQI_2024, EAQI_PRE_2024)}
"""Every table kept, by version."""

DEFAULT = EAQI_2024.version


def table(version: str | None = None) -> BandTable:
    """The table of ``version`` (the default, 2024, if None)."""
    found = TABLES.get(version or DEFAULT)
    if found is None:
        raise UnknownBandTable(
            f"no index table {version!r}: use one of {', '.join(sorted(TABLES))}"
        )
    return found
