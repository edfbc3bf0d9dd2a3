"""Query parameter types shared by the routes."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import shapely
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from api.errors import InvalidParameter


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC: PostgreSQL refuses offsets beyond ±15:59, which RFC 3339 and
    Python allow, and a moment near year 1 or 9999 may not exist in UTC."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} is outside the representable range") from None


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(value: Any) -> Any:
    """Refuse a bare number, which pydantic would read as Unix time: ``at=12345`` is a
    typo or a misunderstanding far more often than a moment in 1970."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            f"{value!r} is a number, not an RFC 3339 date-time (e.g. 2026-11-23T12:00:00Z)"
        )
    return value


UtcDateTime = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_in_utc)]
"""An RFC 3339 date-time with an offset, converted to UTC."""


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not accepted")
    return value


Text = Annotated[
    str, AfterValidator(_no_nul), Field(json_schema_extra={"pattern": "^[^\\u0000]*$"})
]
"""Text of a request body the hub stores: PostgreSQL text cannot hold NUL. (A query
string's are refused before any route, ``api/errors.py``; JSON writes one as ``\\u0000``.)"""


def four_numbers(raw: str, parameter: str = "bbox") -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` as four finite numbers, or a 400 saying what is wrong;
    not checked for order or range, which depend on the CRS."""
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidParameter(
            f"{parameter} {raw!r} must be four numbers: minx,miny,maxx,maxy"
        ) from None
    if len(values) != 4:
        raise InvalidParameter(f"{parameter} must have 4 numbers (2D), got {len(values)}")
    if not all(map(math.isfinite, values)):
        raise InvalidParameter(f"{parameter} {raw!r} must be finite numbers")
    minx, miny, maxx, maxy = values
    return minx, miny, maxx, maxy


def wkt_polygon(raw: str, parameter: str = "within") -> shapely.Geometry:
    """A WKT (Multi)Polygon in CRS84, or a 400 saying what is wrong with it."""
    try:
        geometry = shapely.from_wkt(raw)
    except shapely.errors.GEOSException as exc:
        raise InvalidParameter(f"{parameter} must be a WKT polygon in CRS84: {exc}") from None
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or not geometry.is_valid:
        raise InvalidParameter(
            f"{parameter} must be a valid (Multi)Polygon, got {geometry.geom_type}"
        )
    if geometry.is_empty:
        raise InvalidParameter(f"{parameter} is an empty polygon: it covers nothing")
    west, south, east, north = geometry.bounds
    if not (-180 <= west and east <= 180 and -90 <= south and north <= 90):
        raise InvalidParameter(
            f"{parameter} must lie in CRS84 (lon -180..180, lat -90..90), got bounds"
            f" {west:g}, {south:g}, {east:g}, {north:g}"
        )
    return geometry


def period(
    start: datetime | None, end: datetime | None, window: timedelta = timedelta(hours=24)
) -> tuple[datetime, datetime]:
    """``[start, end)`` with the defaults: ``end`` now, ``start`` a ``window`` before
    ``end``; refused unless ``start`` comes first."""
    end = end or datetime.now(UTC)
    if start is None:
        try:
            start = end - window
        except OverflowError:
            raise InvalidParameter(f"end {end.isoformat()} leaves no {window} before it") from None
    if start >= end:
        raise InvalidParameter(f"start {start.isoformat()} must be before end {end.isoformat()}")
    return start, end
