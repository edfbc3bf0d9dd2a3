"""Features of a stored layer as GeoJSON (CRS84), all of them or those whose attribute
takes one of some values: what a map inlines (the buildings a flood reaches, the zones
to colour by a figure) without a page fetching a whole layer to keep a few features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection


async def features(
    conn: AsyncConnection,
    layer_id: str,
    key: str | None = None,
    values: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The layer's features (``key`` given: those whose ``key`` attribute is one of
    ``values``), in feature order; none if the layer is not imported."""
    if key is None:
        query = "SELECT properties, geometry FROM features WHERE layer_id = %s ORDER BY feature_id"
        params: tuple[Any, ...] = (layer_id,)
    else:
        query = (
            "SELECT properties, geometry FROM features"
            " WHERE layer_id = %s AND properties->>%s = ANY(%s) ORDER BY feature_id"
        )
        params = (layer_id, key, list(values))
    rows = await (await conn.execute(query, params)).fetchall()
    return [{"type": "Feature", "geometry": g, "properties": p} for p, g in rows]
