"""Open data: the DCAT-AP 3 catalogue, downloads of the public datasets, and the
administrator's switch that publishes a dataset (``docs/opendata.md``).

Downloads are anonymous, charged to the heavy-request budget (:mod:`api.rate_limits`),
at stable URLs (``/opendata/datasets/{id}/series.csv?start=&end=&resolution=``), with
``ETag`` and ``Last-Modified`` and ``304`` to a matching ``If-None-Match``. An
unpublished dataset answers 404, as one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from api import rate_limits, security
from api.deps import connection
from api.etags import NOT_MODIFIED, etag, matches
from api.openapi import problems
from carbon import report, store
from carbon.activity import FIRST_YEAR, LAST_YEAR
from gis_layers import catalogue as layer_catalogue
from gis_layers.catalogue import Layer
from opendata import catalog, features, publication, series
from opendata.datasets import DocumentDataset, SeriesDataset
from opendata.errors import DatasetNotFound
from settings import ApiSettings

router = APIRouter(tags=["open data"], responses=problems(503))

_JSONLD = "application/ld+json"
_TURTLE = "text/turtle"
_CSV = "text/csv"
_CACHE = {"Cache-Control": "public, max-age=60"}

DatasetId = Annotated[
    str, Path(description="a dataset's id, as the catalogue's dct:identifier names it")
]


async def _catalog(request: Request, conn: AsyncConnection) -> tuple[bytes, bytes, datetime | None]:
    settings: ApiSettings = request.app.state.settings
    found = await publication.published(conn)
    coverages = {
        d.dataset_id: await catalog.series_coverage(conn, d)
        for d in found.datasets
        if isinstance(d, SeriesDataset)
    }
    graph = catalog.build(
        str(request.base_url),
        settings,
        found,
        coverages,
        await layer_catalogue.extent(conn),
    )
    return catalog.jsonld(graph), catalog.turtle(graph), found.changed_at


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _conditional(
    request: Request, body: bytes, media_type: str, modified: datetime | None
) -> Response:
    tag = etag(body)
    headers = {"ETag": tag, **_CACHE}
    if modified is not None:
        headers["Last-Modified"] = _http_date(modified)
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get(
    "/opendata/catalog.jsonld",
    responses={200: {"content": {_JSONLD: {}}}, **NOT_MODIFIED},
)
async def catalog_jsonld(
    request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
) -> Response:
    """The catalogue of public datasets in DCAT-AP 3, as JSON-LD."""
    jsonld, _, modified = await _catalog(request, conn)
    return _conditional(request, jsonld, _JSONLD, modified)


@router.get(
    "/opendata/catalog.ttl",
    responses={200: {"content": {_TURTLE: {}}}, **NOT_MODIFIED},
)
async def catalog_turtle(
    request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
) -> Response:
    """The catalogue of public datasets in DCAT-AP 3, as Turtle."""
    _, ttl, modified = await _catalog(request, conn)
    return _conditional(request, ttl, f"{_TURTLE}; charset=utf-8", modified)


def _not_modified_since(request: Request, modified: datetime | None) -> bool:
    since = request.headers.get("if-modified-since")
    if since is None or modified is None or "if-none-match" in request.headers:
        return False
    try:
        return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


@router.get(
    "/opendata/datasets/{dataset_id}/series.{fmt}",
    responses=rate_limits.responses(
        {200: {"content": {_CSV: {}, catalog.PARQUET: {}}}, **NOT_MODIFIED, **problems(400, 404)}
    ),
)
async def series_download(
    request: Request,
    dataset_id: DatasetId,
    fmt: Annotated[Literal["csv", "parquet"], Path(description="csv or parquet")],
    start: Annotated[
        str, Query(description="first day (2025-03-01, UTC) or instant (2025-03-01T06:00:00Z)")
    ],
    end: Annotated[str, Query(description="end of the period (excluded), as start")],
    resolution: Annotated[
        series.Resolution, Query(description="hour (at most 366 days) or day (3,660)")
    ] = "hour",
) -> Response:
    """A public series of the period ``[start, end)`` by hour or day: one row per device,
    quantity and bucket with the count, mean, minimum and maximum of its readings,
    streamed (CSV, or Parquet with a row group per 5,000 rows)."""
    span = series.period(start, end, resolution)
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        dataset = await publication.public_dataset(conn, dataset_id)
        if not isinstance(dataset, SeriesDataset):
            raise DatasetNotFound(f"{dataset_id!r} is not a series; see its distributions")
        ids = await series.devices(conn, dataset)
        tag, modified = await series.version(conn, dataset, ids, span, fmt)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=60"}
    if modified is not None:
        headers["Last-Modified"] = _http_date(modified)
    if matches(request.headers.get("if-none-match"), tag) or _not_modified_since(request, modified):
        return Response(status_code=304, headers=headers)
    await rate_limits.charge(request)
    name = f"{dataset_id}_{span.resolution}_{span.start:%Y%m%dT%H%MZ}_{span.end:%Y%m%dT%H%MZ}"
    headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    rows = series.batches(pool, dataset, ids, span)
    if fmt == "csv":
        return StreamingResponse(
            series.csv_stream(rows), media_type=f"{_CSV}; charset=utf-8", headers=headers
        )
    return StreamingResponse(
        series.parquet_stream(rows), media_type=catalog.PARQUET, headers=headers
    )


async def _public_layer(request: Request, dataset_id: str) -> Layer:
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        found = await publication.public_dataset(conn, dataset_id)
    if not isinstance(found, Layer):
        raise DatasetNotFound(f"{dataset_id!r} is not a layer; see its distributions")
    return found


@router.get(
    "/opendata/datasets/{dataset_id}/features.{fmt}",
    responses=rate_limits.responses(
        {
            200: {"content": {"application/geo+json": {}, catalog.GEOPACKAGE: {}}},
            **NOT_MODIFIED,
            **problems(404),
        }
    ),
)
async def features_download(
    request: Request,
    dataset_id: DatasetId,
    fmt: Annotated[Literal["geojson", "gpkg"], Path(description="geojson or gpkg")],
) -> Response:
    """A public layer's features: GeoJSON (CRS84, streamed) or GeoPackage (its source
    CRS, Stereo 70 normally)."""
    layer = await _public_layer(request, dataset_id)
    tag = 'W/"' + f"{layer.layer_id}-{layer.imported_at.timestamp():.6f}-{fmt}" + '"'
    headers = {
        "ETag": tag,
        "Last-Modified": _http_date(layer.imported_at),
        **_CACHE,
        "Content-Disposition": f'attachment; filename="{layer.layer_id}.{fmt}"',
    }
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    await rate_limits.charge(request)
    pool: AsyncConnectionPool = request.app.state.pool
    if fmt == "geojson":
        return StreamingResponse(
            features.geojson_stream(pool, layer.layer_id),
            media_type="application/geo+json",
            headers=headers,
        )
    path = await features.geopackage(pool, layer.layer_id, layer.source_crs)
    return FileResponse(
        path,
        media_type=catalog.GEOPACKAGE,
        headers=headers,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get(
    "/opendata/datasets/carbon-inventory/inventory.csv",
    responses=rate_limits.responses({200: {"content": {_CSV: {}}}, **problems(400, 404, 422)}),
)
async def carbon_inventory(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    year: Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="the inventory's year")],
) -> Response:
    """The carbon inventory of a year, every consumption with its factor (CSV), when
    the dataset ``carbon-inventory`` is published."""
    found = await publication.public_dataset(conn, "carbon-inventory")
    assert isinstance(found, DocumentDataset)
    await rate_limits.charge(request)
    inventory = await store.load_inventory(conn, year, request.app.state.carbon_factors)
    return Response(
        report.csv_text(inventory),
        media_type=f"{_CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="carbon-inventory-{year}.csv"'},
    )


class Publication(BaseModel):
    """An administrator's decision on a dataset."""

    public: bool = Field(description="true: in the catalogue and downloadable by anyone")


@router.put(
    "/opendata/datasets/{dataset_id}/publication",
    status_code=204,
    responses=problems(400, 401, 403, 404, 409),
)
async def publish(
    request: Request,
    dataset_id: DatasetId,
    body: Publication,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Publish a dataset, or withdraw it (administrators; recorded in the audit log).
    Personal data, single parking bays, device credentials and dead letters are never
    published (409)."""
    caller = security.principal(request)
    await publication.set_public(
        conn, dataset_id, body.public, None if caller is None else caller.subject
    )
    return Response(status_code=204)
