"""A robust trend of the river level: the Theil–Sen slope over the last hours.

A trend, not a forecast: the median of the slopes between every pair of readings,
which a single bad reading cannot swing (a least-squares line can be dragged by one).
Extrapolated only to say when the next threshold would be reached if it held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.stats import theilslopes

from river_monitor.thresholds import GaugeThresholds, WarningCode

MIN_POINTS = 3


@dataclass(frozen=True)
class Trend:
    """Slope of the level (cm/h) over a window ending at the last reading."""

    cm_per_h: float
    low_cm_per_h: float
    high_cm_per_h: float
    """The slope's 90 % confidence interval (Sen's)."""
    points: int
    start: datetime
    end: datetime
    level_cm: float
    """The trend line's level at ``end`` (robust against a last bad reading)."""

    def next_threshold(self, thresholds: GaugeThresholds) -> tuple[WarningCode, datetime] | None:
        """The next threshold above the trend line's level and when the trend reaches it,
        or None if the level is not rising or every threshold is passed."""
        if self.cm_per_h <= 0:
            return None
        code = thresholds.code(self.level_cm)
        if code is WarningCode.RED:
            return None
        nxt = WarningCode(code + 1)
        target = (thresholds.attention_cm, thresholds.flood_cm, thresholds.danger_cm)[nxt - 1]
        hours = (target - self.level_cm) / self.cm_per_h
        return nxt, self.end + timedelta(hours=hours)


def trend(readings: Sequence[tuple[datetime, float]]) -> Trend | None:
    """The Theil–Sen trend of (time, level cm) readings in time order; None with fewer
    than three readings or all at one time."""
    if len(readings) < MIN_POINTS:
        return None
    end = readings[-1][0]
    hours = np.array([(t - end).total_seconds() / 3600.0 for t, _ in readings])
    if np.ptp(hours) == 0:
        return None
    levels = np.array([v for _, v in readings], dtype=float)
    slope, _, low, high = theilslopes(levels, hours, alpha=0.90)
    # scipy's intercept is median(y) - slope * median(x): one bad reading moves median(y)
    # by a rank. The median of the residual intercepts is robust to it (Sen's own).
    intercept = float(np.median(levels - slope * hours))
    return Trend(
        cm_per_h=float(slope),
        low_cm_per_h=float(low),
        high_cm_per_h=float(high),
        points=len(readings),
        start=readings[0][0],
        end=end,
        level_cm=float(intercept),
    )
