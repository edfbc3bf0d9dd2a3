"""Where a search starts when it is named rather than given: an asset or an address.

Assets are the twin's (``assets`` table). Address points are an ``addresses`` layer:
features with an ``address`` attribute (points, or any geometry, taken at a point on its
surface), matched without regard to case. The demo town ships no such layer; a town
importing one gets ``address=`` origins the way an ``assets`` layer gives it a twin.
"""

from __future__ import annotations

import shapely
from psycopg import AsyncConnection

from parking.nearest import OriginNotFound

ADDRESS_LAYER = "addresses"
ADDRESS_ATTRIBUTE = "address"


async def asset_origin(conn: AsyncConnection, asset_id: str) -> tuple[float, float]:
    """An asset's position (lon, lat); :class:`OriginNotFound` if there is no such asset."""
    row = await (
        await conn.execute("SELECT lon, lat FROM assets WHERE asset_id = %s", (asset_id,))
    ).fetchone()
    if row is None:
        raise OriginNotFound(f"no asset {asset_id!r}; see /twin/assets")
    return float(row[0]), float(row[1])


async def address_origin(conn: AsyncConnection, address: str) -> tuple[float, float]:
    """An address point's position (lon, lat); :class:`OriginNotFound` if the town has
    no address layer or the address is not in it."""
    layer = await (
        await conn.execute("SELECT 1 FROM layers WHERE layer_id = %s", (ADDRESS_LAYER,))
    ).fetchone()
    if layer is None:
        raise OriginNotFound(
            f"this town has no address points (no layer {ADDRESS_LAYER!r} with an"
            f" {ADDRESS_ATTRIBUTE!r} attribute): give lon and lat, or an asset"
        )
    row = await (
        await conn.execute(
            "SELECT geometry::text FROM features WHERE layer_id = %s"
            " AND lower(properties->>%s) = lower(%s) ORDER BY feature_id LIMIT 1",
            (ADDRESS_LAYER, ADDRESS_ATTRIBUTE, address.strip()),
        )
    ).fetchone()
    if row is None:
        raise OriginNotFound(f"no address {address!r} in the layer {ADDRESS_LAYER!r}")
    point = shapely.point_on_surface(shapely.from_geojson(row[0]))
    return float(point.x), float(point.y)
