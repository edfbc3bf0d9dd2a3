"""The roofs of municipal buildings, from the twin: each asset that names a building
(``building_id``) and that building's footprint in the buildings layer.

The footprint's area is measured in the layer's own CRS, which must be projected in
metres (Stereo 70 for a Romanian town): an area in square degrees is refused, not
converted behind the caller's back.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from psycopg import AsyncConnection
from pyproj import CRS

from carbon.errors import CarbonError
from carbon.scenarios import Roof

BUILDINGS_LAYER = "buildings"
"""The layer of building footprints (the demo town's, and the contract for a town's own)."""

_ROOFS = """
SELECT a.asset_id, a.name, b.properties->>'building_id', b.geom_native, a.lon, a.lat
FROM assets a
JOIN features b
  ON b.layer_id = %(layer)s AND b.properties->>'building_id' = a.properties->>'building_id'
WHERE a.properties->>'building_id' IS NOT NULL
  AND (%(ids)s::text[] IS NULL OR a.asset_id = ANY(%(ids)s::text[]))
ORDER BY a.asset_id
"""


class RoofsNotFound(CarbonError):
    """Assets asked for have no building in the buildings layer (or none has)."""

    status_code = 400
    title = "No roofs"


class BuildingsNotMetric(CarbonError):
    """The buildings layer's CRS is not projected in metres: no area can be measured."""

    status_code = 409
    title = "Buildings layer not metric"


async def municipal_roofs(conn: AsyncConnection, asset_ids: Sequence[str] | None) -> list[Roof]:
    """The roofs of ``asset_ids`` (every asset with a building when None), by asset id.

    Raises:
        RoofsNotFound: an asset asked for is unknown or has no building in the layer,
            or no asset has one at all (the message names them and the remedy).
        BuildingsNotMetric: the buildings layer is not in a metric CRS.
    """
    row = await (
        await conn.execute("SELECT source_crs FROM layers WHERE layer_id = %s", (BUILDINGS_LAYER,))
    ).fetchone()
    if row is None:
        raise RoofsNotFound(
            f"no {BUILDINGS_LAYER!r} layer is imported: import the town's building "
            "footprints (smartcity layers import) to size rooftop PV"
        )
    crs = CRS.from_user_input(row[0])
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise BuildingsNotMetric(
            f"the {BUILDINGS_LAYER!r} layer is in {row[0]}, not a CRS in metres: re-import "
            "it in a projected CRS (EPSG:3844 for Stereo 70)"
        )
    ids = None if asset_ids is None else list(dict.fromkeys(asset_ids))
    rows = await (await conn.execute(_ROOFS, {"layer": BUILDINGS_LAYER, "ids": ids})).fetchall()
    roofs = [
        Roof(
            asset_id=r[0],
            name=r[1],
            building_id=r[2],
            footprint_m2=float(shapely.area(shapely.from_wkb(bytes(r[3])))),
            lon=float(r[4]),
            lat=float(r[5]),
        )
        for r in rows
    ]
    if ids is not None:
        missing = sorted(set(ids) - {r.asset_id for r in roofs})
        if missing:
            raise RoofsNotFound(
                f"no building in the {BUILDINGS_LAYER!r} layer for asset(s) "
                f"{', '.join(missing)}: give each asset a building_id of that layer"
            )
    if not roofs:
        raise RoofsNotFound(
            "no asset of the twin names a building (building_id): give municipal assets "
            f"the building_id of their footprint in the {BUILDINGS_LAYER!r} layer"
        )
    return roofs
