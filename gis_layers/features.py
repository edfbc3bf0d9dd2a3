"""Pages of a layer's features for OGC API - Features: bbox, filters, paging, counts.

Features come back as GeoJSON text the database builds (``json_build_object``), so the
API only concatenates them. A filter with spatial predicates is decided in two steps
(see :mod:`gis_layers.cql2_filter`): the candidates' geometries and property tests are
read, shapely decides, and the page is then fetched by id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from psycopg import AsyncConnection, sql

from gis_layers.cql2_filter import Candidates, CompiledFilter

_FEATURE_JSON = sql.SQL(
    "json_build_object('type', 'Feature', 'id', feature_id,"
    " 'geometry', geometry, 'properties', properties)::text"
)


@dataclass(frozen=True)
class ItemsQuery:
    """Which features of a layer, and which page of them."""

    layer_id: str
    bbox: str | None = None
    """A CRS84 PostgreSQL box literal, or None for the whole layer."""
    filter: CompiledFilter | None = None
    limit: int = 100
    offset: int = 0


def _where(query: ItemsQuery) -> sql.Composable:
    conditions: list[sql.Composable] = [
        sql.SQL("layer_id = {}").format(sql.Literal(query.layer_id))
    ]
    if query.bbox is not None:
        conditions.append(sql.SQL("bbox && {}::box").format(sql.Literal(query.bbox)))
    if query.filter is not None:
        conditions.append(query.filter.where)
    return sql.SQL(" AND ").join(conditions)


async def page(conn: AsyncConnection, query: ItemsQuery) -> tuple[list[str], int]:
    """The requested page of features (serialised GeoJSON) and how many match in all."""
    if query.filter is not None and query.filter.spatial:
        return await _page_decided_by_shapely(conn, query, query.filter)
    where = _where(query)
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
    conn: AsyncConnection, query: ItemsQuery, compiled: CompiledFilter
) -> tuple[list[str], int]:
    columns = sql.SQL("").join(sql.SQL(", {}").format(c) for c in compiled.columns)
    rows = await (
        await conn.execute(
            sql.SQL(
                "SELECT feature_id, geometry::text{} FROM features WHERE {} ORDER BY feature_id"
            ).format(columns, _where(query))
        )
    ).fetchall()
    if not rows:
        return [], 0
    ids = np.array([r[0] for r in rows])
    tests = np.array([r[2:] for r in rows], dtype=np.float64).reshape(len(rows), -1)
    geometries = shapely.from_geojson([r[1] for r in rows])
    matched = ids[compiled.matches(Candidates(tests, geometries))]
    wanted = matched[query.offset : query.offset + query.limit].tolist()
    if not wanted:
        return [], len(matched)
    features = await (
        await conn.execute(
            sql.SQL(
                "SELECT {} FROM features WHERE layer_id = {} AND feature_id = ANY({})"
                " ORDER BY feature_id"
            ).format(_FEATURE_JSON, sql.Literal(query.layer_id), sql.Literal(wanted))
        )
    ).fetchall()
    return [r[0] for r in features], len(matched)
