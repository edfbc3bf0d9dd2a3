"""Turnover and dwell times from bay events: pure code.

Over a period ``[start, end)``, a bay's *arrivals* are its changes from free to occupied
(a bay already occupied at ``start`` did not arrive in the period); a *stay* is an
occupied spell that begins and ends inside the period, its *dwell* the time between.
Heartbeats and repeated readings of the same state are not changes, and readings are
taken in time order whatever order they arrived in. Turnover is arrivals per bay per
day; the dwell distribution is given by its median and 90th percentile (linear
interpolation between the closest ranks, as numpy's default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

DAY = timedelta(days=1)


@dataclass(frozen=True)
class BayActivity:
    """One bay's arrivals and completed stays' dwell times (seconds) in a period."""

    bay_id: str
    arrivals: int
    dwell_s: tuple[float, ...]


@dataclass(frozen=True)
class Turnover:
    """Arrivals per bay per day and the dwell distribution of a set of bays."""

    bays: int
    days: float
    arrivals: int
    per_bay_per_day: float | None
    stays: int
    dwell_median_min: float | None
    dwell_p90_min: float | None

    def document(self) -> dict[str, object]:
        """As JSON-ready values."""
        return {
            "bays": self.bays,
            "days": round(self.days, 4),
            "arrivals": self.arrivals,
            "turnover_per_bay_per_day": _round(self.per_bay_per_day),
            "stays": self.stays,
            "dwell_median_min": _round(self.dwell_median_min),
            "dwell_p90_min": _round(self.dwell_p90_min),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def activity(
    bay_id: str,
    readings: Iterable[tuple[datetime, float]],
    before: float | None,
    start: datetime,
    end: datetime,
) -> BayActivity:
    """A bay's arrivals and stays in ``[start, end)`` from its ``occupied`` readings in
    the period (any order) and its state just before ``start`` (None: unknown)."""
    state = None if before is None else before >= 0.5
    arrived: datetime | None = None
    arrivals = 0
    dwell: list[float] = []
    for moment, value in sorted(r for r in readings if start <= r[0] < end):
        occupied = value >= 0.5
        if occupied == state:
            continue  # a heartbeat or a repeat
        if occupied and state is False:
            arrivals += 1
            arrived = moment
        elif not occupied and arrived is not None:
            dwell.append((moment - arrived).total_seconds())
            arrived = None
        state = occupied
    return BayActivity(bay_id, arrivals, tuple(dwell))


def turnover(bays: Sequence[BayActivity], start: datetime, end: datetime) -> Turnover:
    """The turnover and dwell distribution of ``bays`` over ``[start, end)``."""
    days = (end - start) / DAY
    arrivals = sum(b.arrivals for b in bays)
    dwell = np.array([d for b in bays for d in b.dwell_s], dtype=float) / 60.0
    return Turnover(
        bays=len(bays),
        days=days,
        arrivals=arrivals,
        per_bay_per_day=arrivals / (len(bays) * days) if bays and days > 0 else None,
        stays=len(dwell),
        dwell_median_min=float(np.percentile(dwell, 50)) if len(dwell) else None,
        dwell_p90_min=float(np.percentile(dwell, 90)) if len(dwell) else None,
    )


def by_bay(
    readings: Mapping[str, Sequence[tuple[datetime, float]]],
    before: Mapping[str, float],
    start: datetime,
    end: datetime,
) -> list[BayActivity]:
    """Each bay's activity from its readings and state before ``start``, by bay id."""
    return [
        activity(bay, readings.get(bay, ()), before.get(bay), start, end)
        for bay in sorted(set(readings) | set(before))
    ]
