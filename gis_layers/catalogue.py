"""The ``layers`` table: the catalogue of imported vector layers, read by every route
that addresses a collection (features, tiles, the map)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection

from gis_layers.errors import LayerNotFound


@dataclass(frozen=True)
class Layer:
    """One imported vector layer as the catalogue describes it."""

    layer_id: str
    title: str
    geometry_type: str
    source_crs: str
    feature_count: int
    bbox: tuple[float, float, float, float] | None
    """CRS84 west, south, east, north; None for a layer without features."""
    attributes: dict[str, Any]
    """Attribute name → type, as recorded at import (see :mod:`gis_layers.queryables`)."""
    imported_at: datetime
    public: bool
    """Readable by anonymous callers (see :mod:`auth.policy`)."""


_COLUMNS = """
SELECT layer_id, title, geometry_type, source_crs, feature_count,
       (bbox_crs84[1])[0], (bbox_crs84[1])[1], (bbox_crs84[0])[0], (bbox_crs84[0])[1],
       attributes, imported_at, public
FROM layers
"""


def _layer(row: tuple[Any, ...]) -> Layer:
    layer_id, title, geometry_type, source_crs, count, west, south, east, north = row[:9]
    return Layer(
        layer_id=layer_id,
        title=title,
        geometry_type=geometry_type,
        source_crs=source_crs,
        feature_count=count,
        bbox=None if west is None else (west, south, east, north),
        attributes=row[9],
        imported_at=row[10],
        public=row[11],
    )


async def all_layers(conn: AsyncConnection) -> list[Layer]:
    """Every layer, by id."""
    rows = await (await conn.execute(_COLUMNS + " ORDER BY layer_id")).fetchall()
    return [_layer(r) for r in rows]


async def layer(conn: AsyncConnection, layer_id: str) -> Layer:
    """The layer ``layer_id``; :class:`LayerNotFound` (404) when there is none."""
    row = await (await conn.execute(_COLUMNS + " WHERE layer_id = %s", (layer_id,))).fetchone()
    if row is None:
        raise LayerNotFound(f"no collection {layer_id!r}; see /collections")
    return _layer(row)


def set_public(conn: psycopg.Connection, layer_id: str, public: bool) -> None:
    """Let anonymous callers read a layer (or no longer)."""
    with conn.transaction():
        found = conn.execute(
            "UPDATE layers SET public = %s WHERE layer_id = %s RETURNING layer_id",
            (public, layer_id),
        ).fetchone()
    if found is None:
        raise LayerNotFound(f"no layer {layer_id!r}")


async def extent(conn: AsyncConnection) -> tuple[float, float, float, float] | None:
    """West, south, east, north (CRS84) of every layer together; None with no features."""
    row = await (
        await conn.execute(
            "SELECT min((bbox_crs84[1])[0]), min((bbox_crs84[1])[1]),"
            " max((bbox_crs84[0])[0]), max((bbox_crs84[0])[1]) FROM layers"
        )
    ).fetchone()
    return None if row is None or row[0] is None else (row[0], row[1], row[2], row[3])
