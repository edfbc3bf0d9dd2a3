"""Time helpers shared by the signal models: local civil time, solar time, season.

Human activity (traffic, parking, heating) follows local civil time in
Europe/Bucharest, daylight saving included; sunlight follows solar time at the
town's longitude; seasons follow the fraction of the tropical year.
"""

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from simulator.errors import InvalidInputError

LOCAL_TZ = ZoneInfo("Europe/Bucharest")
TOWN_LONGITUDE_DEG = 24.8708
SECONDS_PER_DAY = 86_400.0
SECONDS_PER_YEAR = 365.2422 * SECONDS_PER_DAY


class LocalTime(NamedTuple):
    """Local civil time reduced to what daily and weekly patterns need."""

    hour: float
    """Fractional hour of the local day, 0 <= hour < 24."""
    weekday: int
    """Day of the week, Monday 0 to Sunday 6."""


def require_aware(t: datetime, name: str = "time") -> None:
    """Raise ValueError unless ``t`` carries a timezone.

    Naive datetimes are rejected rather than guessed at, because a guess of UTC
    versus local time would shift every daily pattern by two or three hours.
    """
    if t.tzinfo is None or t.utcoffset() is None:
        raise InvalidInputError(
            f"{name} must be timezone-aware, e.g. datetime.now(timezone.utc); got {t!r}"
        )


def local_time(t: datetime) -> LocalTime:
    """Return the local hour and weekday of ``t`` in Europe/Bucharest."""
    require_aware(t)
    local = t.astimezone(LOCAL_TZ)
    hour = local.hour + local.minute / 60.0 + (local.second + local.microsecond / 1e6) / 3600.0
    return LocalTime(hour, local.weekday())


def year_fraction(t: datetime) -> float:
    """Return the position of ``t`` in the year, 0 at 1 January 00:00 UTC, in [0, 1).

    Measured in tropical years from the Unix epoch, so it is smooth across
    year ends and leap days, and drifts by well under a day per century.
    """
    require_aware(t)
    return (t.timestamp() / SECONDS_PER_YEAR) % 1.0


def solar_hour(t: datetime) -> float:
    """Return mean solar time at the town in hours, 12 at solar noon, in [0, 24)."""
    require_aware(t)
    return (t.timestamp() / 3600.0 + TOWN_LONGITUDE_DEG / 15.0) % 24.0
