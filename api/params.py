"""Query parameter types shared by the routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import shapely
from pydantic import AfterValidator, AwareDatetime

from api.errors import InvalidParameter


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC: PostgreSQL refuses offsets beyond ±15:59, which RFC 3339 and
    Python allow, and a moment near year 1 or 9999 may not exist in UTC."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} is outside the representable range") from None


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An RFC 3339 date-time with an offset, converted to UTC."""


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
