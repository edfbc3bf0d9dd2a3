"""Pages of a layer's features for OGC API - Features: bbox, filters, paging, counts.

Features come back as GeoJSON text the database builds (``json_build_object``), so the
API only concatenates them. Spatial conditions are decided in two steps: the GiST index
on each feature's bounding box finds the candidates, then shapely decides on their
geometries (a bounding box meeting the area is not the feature meeting it, and
PostgreSQL's box operators also admit boxes within 1e-6 of each other); the page is
then fetched by id. That holds for the ``bbox`` parameter, which OGC API - Features
defines as the feature's geometry intersecting it, and for CQL2 spatial predicates
(:mod:`gis_layers.cql2_filter`). Rows whose bounding box lies inside the area are not
parsed: they meet it. The shapely decision over a large area's candidates takes
hundreds of milliseconds: it runs in a thread once the caller's lane has room (see
``api/cpu.py``), holding no connection meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
import shapely
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from gis_layers.cql2_filter import Candidates, CompiledFilter

_FEATURE_JSON = sql.SQL(
    "json_build_object('type', 'Feature', 'id', feature_id,"
    " 'geometry', geometry, 'properties', properties)::text"
)


@dataclass(frozen=True)
class ItemsQuery:
    """Which features of a layer, and which page of them."""

    layer_id: str
    area: shapely.Geometry | None = None
    """The CRS84 area features must intersect (the ``bbox`` parameter), or None."""
    filter: CompiledFilter | None = None
    limit: int = 100
    offset: int = 0


_FUZZ = 2e-6
"""More than PostgreSQL's box operators' tolerance (1e-6): an area inset by this makes
``<@`` strict."""


def _box(area: shapely.Geometry, inset: float = 0.0) -> sql.Composable:
    x0, y0, x1, y1 = area.bounds
    box = f"(({x0 + inset},{y0 + inset}),({x1 - inset},{y1 - inset}))"
    return sql.SQL("{}::box").format(sql.Literal(box))


def _where(query: ItemsQuery) -> sql.Composable:
    conditions: list[sql.Composable] = [
        sql.SQL("layer_id = {}").format(sql.Literal(query.layer_id))
    ]
    if query.area is not None:
        conditions.append(sql.SQL("bbox && {}").format(_box(query.area)))
    if query.filter is not None:
        conditions.append(query.filter.where)
    return sql.SQL(" AND ").join(conditions)


async def page(
    pool: AsyncConnectionPool, query: ItemsQuery, lane: anyio.CapacityLimiter, inline: int
) -> tuple[list[str], int]:
    """The requested page of features (serialised GeoJSON) and how many match in all;
    spatial conditions are decided in a thread once ``lane`` has room, unless there are
    no more than ``inline`` candidates."""
    if query.area is not None or (query.filter is not None and query.filter.spatial):
        return await _page_decided_by_shapely(pool, query, lane, inline)
    where = _where(query)
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                sql.SQL(
                    "SELECT {} FROM features WHERE {} ORDER BY feature_id LIMIT {} OFFSET {}"
                ).format(_FEATURE_JSON, where, sql.Literal(query.limit), sql.Literal(query.offset))
            )
        ).fetchall()
        if query.offset == 0 and len(rows) < query.limit:
            return [r[0] for r in rows], len(rows)  # the whole result is on this page
        count = await (
            await conn.execute(sql.SQL("SELECT count(*) FROM features WHERE {}").format(where))
        ).fetchone()
    return [r[0] for r in rows], int(count[0]) if count else 0


async def _page_decided_by_shapely(
    pool: AsyncConnectionPool, query: ItemsQuery, lane: anyio.CapacityLimiter, inline: int
) -> tuple[list[str], int]:
    compiled = query.filter if query.filter is not None and query.filter.spatial else None
    area = query.area
    # Without spatial predicates to evaluate, a feature whose box lies inside a
    # rectangular area meets it: its geometry need not be read.
    inside: sql.Composable = sql.SQL("FALSE")
    if compiled is None and area is not None and shapely.equals(area, shapely.envelope(area)):
        x0, y0, x1, y1 = area.bounds
        if min(x1 - x0, y1 - y0) > 2 * _FUZZ:
            inside = sql.SQL("bbox <@ {}").format(_box(area, _FUZZ))
    tests = sql.SQL("").join(
        sql.SQL(", {}").format(c) for c in (compiled.columns if compiled else [])
    )
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                sql.SQL(
                    "SELECT feature_id, CASE WHEN {} THEN NULL ELSE geometry::text END{}"
                    " FROM features WHERE {} ORDER BY feature_id"
                ).format(inside, tests, _where(query))
            )
        ).fetchall()
    if not rows:
        return [], 0
    if len(rows) <= inline:
        matched = _matching(rows, area, compiled)
    else:
        async with lane:
            matched = await anyio.to_thread.run_sync(_matching, rows, area, compiled)
    wanted = matched[query.offset : query.offset + query.limit].tolist()
    if not wanted:
        return [], len(matched)
    async with pool.connection() as conn:
        features = await (
            await conn.execute(
                sql.SQL(
                    "SELECT {} FROM features WHERE layer_id = {} AND feature_id = ANY({})"
                    " ORDER BY feature_id"
                ).format(_FEATURE_JSON, sql.Literal(query.layer_id), sql.Literal(wanted))
            )
        ).fetchall()
    return [r[0] for r in features], len(matched)


def _matching(
    rows: list[tuple[Any, ...]], area: shapely.Geometry | None, compiled: CompiledFilter | None
) -> np.ndarray:
    """Ids of the candidate rows (id, geometry text or NULL when inside the area, the
    filter's columns) whose geometry meets ``area`` and matches ``compiled``."""
    ids = np.array([r[0] for r in rows])
    geometries = shapely.from_geojson([r[1] for r in rows])  # None where inside
    keep = np.ones(len(rows), dtype=bool)
    if area is not None:
        shapely.prepare(area)
        keep = shapely.is_missing(geometries) | shapely.intersects(area, geometries)
    if compiled is not None:
        values = np.array([r[2:] for r in rows], dtype=np.float64).reshape(len(rows), -1)
        keep &= compiled.matches(Candidates(values, geometries))
    return ids[keep]


async def one(conn: AsyncConnection, layer_id: str, feature_id: str) -> str | None:
    """Feature ``feature_id`` of a layer as GeoJSON text, or None when it has none
    (feature ids are the integers the import gave)."""
    if not (feature_id.isdecimal() and len(feature_id) < 10):
        return None
    row = await (
        await conn.execute(
            sql.SQL("SELECT {} FROM features WHERE layer_id = %s AND feature_id = %s").format(
                _FEATURE_JSON
            ),
            (layer_id, int(feature_id)),
        )
    ).fetchone()
    return None if row is None else str(row[0])
