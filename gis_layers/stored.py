"""Read a stored vector layer back as a GeoDataFrame, in its native CRS."""

from __future__ import annotations

import geopandas as gpd
import orjson
import psycopg
import shapely

from gis_layers.errors import LayerNotFound


def layer_frame(conn: psycopg.Connection, layer_id: str) -> gpd.GeoDataFrame:
    """A stored layer in its source CRS (Stereo 70 normally), with its attributes."""
    source = conn.execute(
        "SELECT source_crs FROM layers WHERE layer_id = %s", (layer_id,)
    ).fetchone()
    if source is None:
        raise LayerNotFound(f"layer {layer_id!r} is not imported")
    rows = conn.execute(
        "SELECT properties::text, geom_native FROM features WHERE layer_id = %s"
        " ORDER BY feature_id",
        (layer_id,),
    ).fetchall()
    return gpd.GeoDataFrame(
        [orjson.loads(r[0]) for r in rows],
        geometry=shapely.from_wkb([bytes(r[1]) for r in rows]),
        crs=source[0],
    )
