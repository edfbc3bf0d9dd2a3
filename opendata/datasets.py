"""The datasets the hub can publish as open data, and those it never may.

Three kinds:

- **series**: readings of some device kinds, aggregated by hour or day from the rollups
  (:mod:`storage.rollups`); never raw readings, so never a parking bay's events;
- **documents**: answers the hub computes (the flood extent, the carbon inventory),
  published through their own routes;
- **layers**: every imported vector layer, ``layer-<layer_id>``, public when the layer
  is (``smartcity layers publish``, or ``smartcity opendata publish layer-<id>``).

A series or document dataset is public by its ``default_public`` until an administrator
decides otherwise (:mod:`opendata.publication`). The defaults publish what the API
already gives anyone (river levels and the flood, lot occupancy, air quality); the
carbon inventory and the buildings' energy meters wait for an administrator.

The air-quality index is the ``air/`` package's own public routes (``/air/stations``,
``/air/zones``, ``/air/exceedances``), catalogued as ``air-quality-index``; the
concentrations behind it are the series ``air-quality``. Another dataset is one more
entry in :data:`BUILT_IN`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LAYER_PREFIX = "layer-"
"""Dataset ids of layers: ``layer-`` and the layer's id."""

Frequency = Literal["HOURLY", "DAILY", "IRREG", "ANNUAL", "CONT"]
"""Update frequencies, as named by the EU frequency authority table."""


@dataclass(frozen=True)
class SeriesDataset:
    """Readings of ``device_kinds`` (``quantities`` with their ``units``), hourly or daily."""

    dataset_id: str
    title: str
    description: str
    device_kinds: tuple[str, ...]
    quantities: tuple[str, ...]
    units: tuple[str, ...]
    keywords: tuple[str, ...]
    theme: str
    """An EU data theme code (ENVI, TRAN, ENER, REGI...)."""
    default_public: bool
    frequency: Frequency = "HOURLY"


@dataclass(frozen=True)
class DocumentDataset:
    """An answer of the hub, downloadable at ``path`` (relative to the API's root)."""

    dataset_id: str
    title: str
    description: str
    distributions: tuple[tuple[str, str, str], ...]
    """(path, media type, title) of each distribution."""
    keywords: tuple[str, ...]
    theme: str
    default_public: bool
    frequency: Frequency
    spatial: bool


Dataset = SeriesDataset | DocumentDataset

BUILT_IN: tuple[Dataset, ...] = (
    SeriesDataset(
        dataset_id="river-levels",
        title="Danube water level and temperature at Turnu Măgurele",
        description="Hourly or daily count, mean, minimum and maximum of the Danube gauge's"
        " water level (cm on the staff gauge, above the gauge zero) and water temperature.",
        device_kinds=("river_gauge",),
        quantities=("water_level", "water_temperature"),
        units=("cm", "°C"),
        keywords=("Danube", "water level", "hydrology", "flood"),
        theme="ENVI",
        default_public=True,
    ),
    SeriesDataset(
        dataset_id="parking-occupancy",
        title="Occupancy of the municipal parking lots",
        description="Hourly or daily count, mean, minimum and maximum of the occupied"
        " spaces of each parking lot, from the lots' entry counters (never single bays).",
        device_kinds=("parking_counter",),
        quantities=("occupied_spaces",),
        units=("spaces",),
        keywords=("parking", "occupancy", "mobility"),
        theme="TRAN",
        default_public=True,
    ),
    SeriesDataset(
        dataset_id="air-quality",
        title="Air quality: PM2.5, PM10, NO2 and O3",
        description="Hourly or daily count, mean, minimum and maximum of the concentrations"
        " measured by the town's air-quality stations (µg/m³).",
        device_kinds=("air_quality",),
        quantities=("pm25", "pm10", "no2", "o3"),
        units=("µg/m³", "µg/m³", "µg/m³", "µg/m³"),
        keywords=("air quality", "PM2.5", "PM10", "NO2", "ozone"),
        theme="ENVI",
        default_public=True,
    ),
    SeriesDataset(
        dataset_id="energy-consumption",
        title="Energy consumption of municipal buildings",
        description="Hourly or daily electricity (kWh) and gas (m³) metered in the"
        " municipality's buildings.",
        device_kinds=("energy_meter",),
        quantities=("electricity_energy", "gas_volume"),
        units=("kWh", "m³"),
        keywords=("energy", "buildings", "consumption"),
        theme="ENER",
        default_public=False,
    ),
    DocumentDataset(
        dataset_id="flood-extents",
        title="Danube flood extent at the current level",
        description="The area flooded at the Danube's current level (or a level asked),"
        " computed from the terrain model, with the water depth as a GeoTIFF.",
        distributions=(
            ("/river/flood", "application/geo+json", "Flood extent (GeoJSON)"),
            ("/river/flood/depth.tif", "image/tiff", "Water depth (GeoTIFF)"),
        ),
        keywords=("Danube", "flood", "hazard"),
        theme="ENVI",
        default_public=True,
        frequency="CONT",
        spatial=True,
    ),
    DocumentDataset(
        dataset_id="air-quality-index",
        title="European Air Quality Index of the town's stations",
        description="The European Air Quality Index (EEA, 2024 bands) of each station now,"
        " per urbanism zone, and the EU limit and target value exceedances of a year.",
        distributions=(
            ("/air/stations", "application/json", "Index per station, latest hour (JSON)"),
            ("/air/zones", "application/json", "Index per urbanism zone (JSON)"),
            ("/air/exceedances", "application/json", "EU limit value exceedances (JSON)"),
        ),
        keywords=("air quality", "European Air Quality Index", "EEA"),
        theme="ENVI",
        default_public=True,
        frequency="HOURLY",
        spatial=True,
    ),
    DocumentDataset(
        dataset_id="carbon-inventory",
        title="Carbon inventory of municipal assets",
        description="Every consumption of a year (electricity, gas, fuel) by asset, with the"
        " emission factor used and the tonnes of CO2 equivalent.",
        distributions=(
            ("/opendata/datasets/carbon-inventory/inventory.csv", "text/csv", "Inventory (CSV)"),
        ),
        keywords=("carbon", "greenhouse gases", "Covenant of Mayors", "energy"),
        theme="ENVI",
        default_public=False,
        frequency="ANNUAL",
        spatial=False,
    ),
)

NEVER: dict[str, str] = {
    "parking-bays": "single bays' events can follow a person's car; lots are published",
    "devices": "the device registry names device credentials' holders",
    "device-credentials": "device credentials are secrets",
    "dead-letters": "dead letters are raw messages, possibly with secrets",
    "accounts": "accounts are personal data",
    "audit-log": "the audit log names people",
}
"""What is never published, whatever an administrator asks, and why."""


def built_in(dataset_id: str) -> Dataset | None:
    """The built-in dataset ``dataset_id``, or None."""
    return next((d for d in BUILT_IN if d.dataset_id == dataset_id), None)


def layer_of(dataset_id: str) -> str | None:
    """The layer id of a layer's dataset id, or None for another id."""
    return dataset_id.removeprefix(LAYER_PREFIX) if dataset_id.startswith(LAYER_PREFIX) else None
