"""How full one parking lot is over time: its kind's week, varied day to day, with
holidays and events of its own.

A lot's probability that a bay is occupied at ``t`` is

    p(t) = clip(week(t) * scale * exp(town(t) + own(t)) + events(t), MIN, MAX)

- ``week``: the weekly pattern of the lot's kind (:data:`simulator.signals.LOT_PROFILES`:
  weekday commute and shopping peaks, the Saturday market and match, quiet Sundays), in
  local time; a public holiday (:data:`PUBLIC_HOLIDAYS`) follows the Sunday curve;
- ``scale``: the lot's own popularity, drawn once from [0.85, 1.10];
- ``town`` and ``own``: busy and quiet spells lasting days (weather, paydays, the
  season's trade): sums of slow sinusoids of the log demand with seeded phases, one
  shared by every lot of the town, one the lot's own (together about ±15 %);
- ``events``: on about one day in ten (:data:`EVENT_DAILY_CHANCE`) something draws
  cars to the lot for a few hours (a fair, a funeral, a concert, a delivery of the
  ferry): a Gaussian bump at a seeded hour between 09:00 and 20:00.

Every term is a pure function of the seed, the lot's id and the time, so a replay (the
live simulator, the demo's past weeks from :mod:`simulator.lot_history`) gives the same
demand. Minute-to-minute noise is not here: it comes from the bays themselves, each
arriving and leaving at random around this probability (:mod:`simulator.bays`).

Example:
    >>> from datetime import datetime, timezone
    >>> demand = LotDemand.from_seed(42, "lot-centru", "centre")
    >>> 0.0 < demand.occupancy_probability(datetime(2024, 5, 15, 9, tzinfo=timezone.utc)) < 1.0
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from simulator.clock import LOCAL_TZ, LocalTime, require_aware
from simulator.signals import (
    LOT_PROFILES,
    MAX_OCCUPANCY,
    MIN_OCCUPANCY,
    Bump,
    LotProfile,
    Sinusoid,
    _seeded_waves,
    _wave_sum,
    seeded_rng,
)

PUBLIC_HOLIDAYS = frozenset(
    {(1, 1), (1, 2), (1, 6), (1, 7), (1, 24), (5, 1), (6, 1), (8, 15), (11, 30), (12, 1)}
    | {(12, 25), (12, 26)}
)
"""Romania's public holidays on fixed dates (month, day); Orthodox Easter and Whit
Monday move, and are left out."""
SCALE_RANGE = (0.85, 1.10)
"""The range of a lot's popularity against its kind's typical week."""
# (log amplitude, period days): the town's busy and quiet spells, and each lot's own.
_TOWN_WAVES = ((0.06, 2.3), (0.05, 4.7), (0.05, 11.3))
_LOT_WAVES = ((0.04, 1.7), (0.04, 3.9), (0.03, 8.3))
EVENT_DAILY_CHANCE = 0.1
"""The chance that a lot has an event on a given day."""
EVENT_HOURS = (9.0, 20.0)
"""The range of an event's peak, local hour."""
EVENT_WIDTH_H = (0.75, 2.0)
"""The range of an event's width (the Gaussian's standard deviation), hours."""
EVENT_HEIGHT = (0.15, 0.4)
"""The range of an event's added occupancy probability at its peak."""


def is_public_holiday(day: date) -> bool:
    """Whether ``day`` (a local date) is one of :data:`PUBLIC_HOLIDAYS`."""
    return (day.month, day.day) in PUBLIC_HOLIDAYS


@lru_cache(maxsize=8192)
def _event_on(seed: int, lot_id: str, day: date) -> Bump | None:
    """The lot's event on the local date ``day``, if it has one (a draw of its own)."""
    rng = seeded_rng(seed, f"lot-event/{lot_id}/{day.isoformat()}")
    if rng.random() >= EVENT_DAILY_CHANCE:
        return None
    return Bump(
        hour=float(rng.uniform(*EVENT_HOURS)),
        width_h=float(rng.uniform(*EVENT_WIDTH_H)),
        height=float(rng.uniform(*EVENT_HEIGHT)),
    )


@dataclass(frozen=True)
class LotDemand:
    """One lot's demand: its kind's week, its own popularity, spells and events.

    Build it with :meth:`from_seed`; see the module's docstring for the formula.
    """

    seed: int
    lot_id: str
    profile: LotProfile
    scale: float
    town_waves: tuple[Sinusoid, ...]
    lot_waves: tuple[Sinusoid, ...]

    @classmethod
    def from_seed(cls, seed: int, lot_id: str, kind: str) -> LotDemand:
        """The demand of lot ``lot_id`` of kind ``kind`` (a key of LOT_PROFILES)."""
        own = seeded_rng(seed, f"lot-demand/{lot_id}")
        return cls(
            seed=seed,
            lot_id=lot_id,
            profile=LOT_PROFILES[kind],
            scale=float(own.uniform(*SCALE_RANGE)),
            town_waves=_seeded_waves(seeded_rng(seed, "town-demand"), _TOWN_WAVES),
            lot_waves=_seeded_waves(own, _LOT_WAVES),
        )

    @property
    def mean_dwell_minutes(self) -> float:
        """How long a car stays, on average (the kind's)."""
        return self.profile.mean_dwell_minutes

    def occupancy_probability(self, t: datetime) -> float:
        """The probability that a bay of the lot is occupied at ``t``, within
        [MIN_OCCUPANCY, MAX_OCCUPANCY] like the kind's own (the bay chains need it)."""
        require_aware(t)
        local = t.astimezone(LOCAL_TZ)
        hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        day = local.date()
        weekday = 6 if is_public_holiday(day) else local.weekday()
        base = self.profile.week.at(LocalTime(hour, weekday))
        ts = t.timestamp()
        spells = _wave_sum(self.town_waves, ts) + _wave_sum(self.lot_waves, ts)
        level = base * self.scale * math.exp(spells)
        # yesterday's late event may reach past midnight
        for offset, event_day in ((0.0, day), (24.0, day - timedelta(days=1))):
            event = _event_on(self.seed, self.lot_id, event_day)
            if event is not None:
                level += event.height * math.exp(
                    -0.5 * ((hour + offset - event.hour) / event.width_h) ** 2
                )
        return min(MAX_OCCUPANCY, max(MIN_OCCUPANCY, level))
