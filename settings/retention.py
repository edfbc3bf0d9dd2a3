"""How long readings are kept: raw readings per quantity, and each rollup level.

Raw readings are the bulk of the database; their rollups (5-minute, hourly, daily
count, sum, min, max, first and last) answer history queries and are kept longer. The
defaults keep a year of raw readings, two years of 5-minute rollups and the hourly and
daily rollups for ever. ``docs/rollups.md`` explains the trade-offs.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

from settings.base import ENV

MIN_RAW_RETENTION_DAYS = 7
"""The shortest raw retention: rollups are refreshed over the raw readings still kept,
and the daily level needs a window of at least two whole days."""

FOREVER = 0
"""A rollup retention of 0 days keeps the rollup for ever."""


def _longest(days: int) -> float:
    return float("inf") if days == FOREVER else days


class RetentionSettings(BaseSettings):
    """Raw retention per quantity and rollup retention per level, in days."""

    model_config = ENV

    raw_retention_days: int = Field(
        default=365,
        ge=MIN_RAW_RETENTION_DAYS,
        description="days raw readings are kept (every quantity without its own value)",
    )
    raw_retention_days_by_quantity: dict[str, int] = Field(
        default_factory=dict,
        description='per-quantity raw retention in days, as JSON: {"occupied": 90}',
    )
    rollup_5m_retention_days: int = Field(
        default=730, ge=FOREVER, description="days 5-minute rollups are kept; 0: for ever"
    )
    rollup_1h_retention_days: int = Field(
        default=FOREVER, ge=FOREVER, description="days hourly rollups are kept; 0: for ever"
    )
    rollup_1d_retention_days: int = Field(
        default=FOREVER, ge=FOREVER, description="days daily rollups are kept; 0: for ever"
    )

    @model_validator(mode="after")
    def _rollups_outlive_what_they_are_built_from(self) -> RetentionSettings:
        """A rollup is refreshed from raw readings (5 min) or the finer rollup (hour, day):
        dropping its source first would make a refresh forget what it summarised."""
        for quantity, days in self.raw_retention_days_by_quantity.items():
            if days < MIN_RAW_RETENTION_DAYS:
                raise ValueError(
                    f"SMARTCITY_RAW_RETENTION_DAYS_BY_QUANTITY: {quantity} keeps {days} days;"
                    f" raw readings are kept at least {MIN_RAW_RETENTION_DAYS} days"
                )
        raw = self.longest_raw_retention_days
        chain = [
            ("SMARTCITY_ROLLUP_5M_RETENTION_DAYS", self.rollup_5m_retention_days),
            ("SMARTCITY_ROLLUP_1H_RETENTION_DAYS", self.rollup_1h_retention_days),
            ("SMARTCITY_ROLLUP_1D_RETENTION_DAYS", self.rollup_1d_retention_days),
        ]
        finer_name, finer = "the longest raw retention", float(raw)
        for name, days in chain:
            if _longest(days) < finer:
                raise ValueError(
                    f"{name}={days} is shorter than {finer_name} ({finer:g} days): set it"
                    f" to {finer:g} or more, or 0 to keep it for ever"
                )
            finer_name, finer = name, _longest(days)
        return self

    @property
    def longest_raw_retention_days(self) -> int:
        """The raw retention of the quantity kept longest: older partitions are dropped."""
        return max([self.raw_retention_days, *self.raw_retention_days_by_quantity.values()])

    @property
    def shortest_raw_retention_days(self) -> int:
        """The raw retention of the quantity kept shortest: rollups are refreshed over it."""
        return min([self.raw_retention_days, *self.raw_retention_days_by_quantity.values()])
