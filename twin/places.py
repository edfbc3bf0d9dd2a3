"""Which cadastral parcel and urbanism zone each asset stands in (a spatial join).

The contract, like the assets and sensors layers: a ``parcels`` layer with a
``cadastral_number`` and a ``zones`` layer with ``code`` and ``name``. An asset on a
shared boundary takes the feature with the lowest id; an asset outside every parcel or
zone gets none. Computed in Python with a shapely STRtree (no PostGIS), in the same
transaction as the twin's sync.
"""

from __future__ import annotations

import numpy as np
import psycopg
import shapely

_INSERT = """
INSERT INTO asset_places (asset_id, parcel_feature_id, cadastral_number, zone_feature_id,
                          zone_code, zone_name)
SELECT * FROM unnest(%s::text[], %s::int[], %s::text[], %s::int[], %s::text[], %s::text[])
"""


def _containing(
    conn: psycopg.Connection, layer: str, fields: tuple[str, ...], points: np.ndarray
) -> list[tuple[int | None, ...]]:
    """For each point, (feature id, *fields) of the layer's first feature containing it."""
    rows = conn.execute(
        "SELECT feature_id, geometry::text"
        + "".join(f", properties->>'{f}'" for f in fields)
        + " FROM features WHERE layer_id = %s ORDER BY feature_id",
        (layer,),
    ).fetchall()
    found: list[tuple[int | None, ...]] = [(None,) * (1 + len(fields))] * len(points)
    if not rows or not len(points):
        return found
    tree = shapely.STRtree(shapely.from_geojson([r[1] for r in rows]))
    point_index, feature_index = tree.query(points, predicate="intersects")
    for p, f in sorted(
        zip(point_index.tolist(), feature_index.tolist(), strict=True), reverse=True
    ):
        row = rows[f]
        found[p] = (row[0], *row[2:])  # sorted descending: the lowest feature id wins
    return found


def refresh(conn: psycopg.Connection, parcels: str = "parcels", zones: str = "zones") -> int:
    """Recompute every asset's parcel and zone; return how many assets have a place."""
    assets = conn.execute("SELECT asset_id, lon, lat FROM assets ORDER BY asset_id").fetchall()
    points = shapely.points([(a[1], a[2]) for a in assets]) if assets else np.array([])
    in_parcel = _containing(conn, parcels, ("cadastral_number",), points)
    in_zone = _containing(conn, zones, ("code", "name"), points)
    conn.execute("DELETE FROM asset_places")
    conn.execute(
        _INSERT,
        (
            [a[0] for a in assets],
            [p[0] for p in in_parcel],
            [p[1] for p in in_parcel],
            [z[0] for z in in_zone],
            [z[1] for z in in_zone],
            [z[2] for z in in_zone],
        ),
    )
    return sum(
        p[0] is not None or z[0] is not None for p, z in zip(in_parcel, in_zone, strict=True)
    )
