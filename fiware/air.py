"""Air quality as Smart Data Models entities (dataModel.Environment): each station's
latest hour an ``AirQualityObserved``, read from :mod:`air.stations`.

Choices where the hub and the model differ (docs/air.md, "FIWARE / NGSI-LD"):

- One entity per station, its id the station's (``urn:ngsi-ld:AirQualityObserved:TR-2``),
  holding the station's latest hour with an index (within three hours), as ``GET
  /air/stations`` shows it; a station without one is not served (``dateObserved`` is
  required).
- ``dateObserved`` is the end of that hour; the concentrations (µg/m³) are its hourly
  means, each with ``observedAt``.
- ``airQualityIndex`` is the EEA band numbered 1 (good) to 6 (extremely poor), the
  schema asking for an integer; ``airQualityLevel`` the band's name, of the 2024 table.
- ``areaServed`` is the station's urbanism zone, where it has one.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import AsyncConnection

from air.bands import EAQI_2024
from air.index import HOUR, Index
from air.stations import Station, latest, stations
from fiware.entities import Attribute, Entity, Property, point, timestamp, urn

AIR_QUALITY_OBSERVED = "AirQualityObserved"


def air_quality_observed(station: Station, index: Index, hourly: dict[str, float]) -> Entity:
    """A station's hour as an ``AirQualityObserved``: its hourly means, the index (band
    1-6) and level, where and when."""
    end = index.hour + HOUR
    attributes: dict[str, Attribute] = {
        "name": Property(station.name),
        "dateObserved": Property(timestamp(end)),
        "typeofLocation": Property("outdoor"),
    }
    if station.lon is not None and station.lat is not None:
        attributes["location"] = point(station.lon, station.lat)
    if station.zone_name is not None:
        attributes["areaServed"] = Property(station.zone_name)
    for pollutant, value in hourly.items():
        attributes[pollutant] = Property(round(max(value, 0.0), 2), end)
    if index.band is not None:
        attributes["airQualityIndex"] = Property(index.band + 1, end)
        attributes["airQualityLevel"] = Property(index.level, end)
    return Entity(urn(AIR_QUALITY_OBSERVED, station.station_id), AIR_QUALITY_OBSERVED, attributes)


async def air_quality_observations(
    conn: AsyncConnection, now: datetime, ids: frozenset[str] | None
) -> list[Entity]:
    """Every station's latest hour with an index (or those of the given station ids)."""
    found = [s for s in await stations(conn) if ids is None or s.station_id in ids]
    indices = await latest(conn, EAQI_2024, [s.station_id for s in found], now)
    entities = []
    for station in found:
        index = indices[station.station_id]
        if index is None or station.lon is None:  # the model requires a location
            continue
        hourly = {p: s.concentration for p, s in index.sub_indices.items()}
        entities.append(air_quality_observed(station, index, hourly))
    return entities
