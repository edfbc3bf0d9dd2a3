"""Query parameter types shared by the routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC: PostgreSQL refuses offsets beyond ±15:59, which RFC 3339 and
    Python allow, and a moment near year 1 or 9999 may not exist in UTC."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} is outside the representable range") from None


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An RFC 3339 date-time with an offset, converted to UTC."""
