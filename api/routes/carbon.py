"""The carbon inventory: ``GET /carbon/inventory?year=&baseline=`` as JSON or CSV.

JSON by default; CSV (one line per consumption, with the factor it used) for ``f=csv``
or an ``Accept`` that prefers ``text/csv``. The assets with their emissions are also
the layer ``carbon_assets`` under ``/collections`` (:mod:`carbon.layer`). Reduction
scenarios have their own module (``api/routes/carbon_scenarios.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from psycopg import AsyncConnection

from api.deps import connection
from api.openapi import problems
from carbon import report, store
from carbon.activity import FIRST_YEAR, LAST_YEAR
from carbon.factors import FactorTable

router = APIRouter(tags=["carbon"], responses=problems(503))

_JSON = "application/json"
_CSV = "text/csv"


def _wants_csv(request: Request, f: str | None) -> bool:
    if f is not None:
        return f == "csv"
    accept = request.headers.get("accept", "")
    return _CSV in accept and _JSON not in accept.split(_CSV, 1)[0]


@router.get(
    "/carbon/inventory",
    responses={200: {"content": {_JSON: {}, _CSV: {}}}, **problems(400, 409)},
)
async def inventory(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    year: Annotated[
        int | None,
        Query(ge=FIRST_YEAR, le=LAST_YEAR, description="the inventory's year; default: this year"),
    ] = None,
    baseline: Annotated[
        int | None,
        Query(
            ge=FIRST_YEAR,
            le=LAST_YEAR,
            description="the baseline year compared with; default SMARTCITY_CARBON_BASELINE_YEAR",
        ),
    ] = None,
    f: Annotated[
        Literal["json", "csv"] | None,
        Query(description="json (sectors, scopes, months, assets) or csv (every line)"),
    ] = None,
) -> Response:
    """The municipality's emissions of a year in t CO2e by sector (Covenant of Mayors BEI
    categories, GPC sectors), scope, month and asset, with the factors of that year and
    the change from the baseline year (JSON); or every consumption line (CSV). 409 when
    the factor table has no factor for a carrier consumed that year."""
    table: FactorTable = request.app.state.carbon_factors
    year = datetime.now(UTC).year if year is None else year
    found = await store.load_inventory(conn, year, table)
    if _wants_csv(request, f):
        return Response(
            report.csv_text(found),
            media_type=f"{_CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="carbon-inventory-{year}.csv"'},
        )
    base_year = request.app.state.settings.carbon_baseline_year if baseline is None else baseline
    base = found if base_year == year else await store.load_inventory(conn, base_year, table)
    return Response(orjson.dumps(report.document(found, base)), media_type=_JSON)
