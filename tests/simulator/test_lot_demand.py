"""Each lot's demand (its kind's week, popularity, spells, holidays, events) and the
past weeks of counts simulated from it."""

from datetime import UTC, datetime, timedelta
from statistics import median, pstdev
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from simulator.errors import InvalidInputError
from simulator.lot_demand import LotDemand
from simulator.lot_history import LotSpec, lot_occupancy
from simulator.signals import MAX_OCCUPANCY, MIN_OCCUPANCY

LOCAL = ZoneInfo("Europe/Bucharest")


def local(year: int, month: int, day: int, hour: float) -> datetime:
    return (datetime(year, month, day, tzinfo=LOCAL) + timedelta(hours=hour)).astimezone(UTC)


def test_demand_is_a_function_of_seed_lot_and_time() -> None:
    t = local(2025, 3, 12, 11)
    a = LotDemand.from_seed(42, "lot-centru", "centre").occupancy_probability(t)
    assert a == LotDemand.from_seed(42, "lot-centru", "centre").occupancy_probability(t)
    assert a != LotDemand.from_seed(43, "lot-centru", "centre").occupancy_probability(t)
    assert a != LotDemand.from_seed(42, "lot-centru-2", "centre").occupancy_probability(t)


def test_the_kinds_week_shows_through() -> None:
    lots = [LotDemand.from_seed(1, f"lot-{i}", "centre") for i in range(20)]
    wednesday_11 = median(d.occupancy_probability(local(2025, 3, 12, 11)) for d in lots)
    wednesday_3 = median(d.occupancy_probability(local(2025, 3, 12, 3)) for d in lots)
    sunday_11 = median(d.occupancy_probability(local(2025, 3, 16, 11)) for d in lots)
    assert wednesday_11 > wednesday_3 + 0.4
    assert sunday_11 < wednesday_11 - 0.2


def test_the_same_hour_differs_from_week_to_week_but_not_wildly() -> None:
    demand = LotDemand.from_seed(7, "lot-gara", "station")
    wednesdays = [
        demand.occupancy_probability(local(2025, 2, 5, 7) + timedelta(weeks=k)) for k in range(20)
    ]
    assert 0.02 < pstdev(wednesdays) < 0.15


def test_a_public_holiday_looks_like_a_sunday() -> None:
    lots = [LotDemand.from_seed(1, f"lot-{i}", "centre") for i in range(20)]
    holiday = median(d.occupancy_probability(local(2025, 12, 1, 11)) for d in lots)  # a Monday
    monday = median(d.occupancy_probability(local(2025, 12, 8, 11)) for d in lots)
    assert holiday < monday - 0.2


def test_probabilities_stay_within_the_chains_bounds() -> None:
    demand = LotDemand.from_seed(3, "lot-stadion", "stadium")
    year = [demand.occupancy_probability(local(2025, 1, 1, h / 2)) for h in range(2 * 24 * 365)]
    assert min(year) >= MIN_OCCUPANCY and max(year) <= MAX_OCCUPANCY


def test_past_weeks_of_counts_follow_the_demand() -> None:
    start = local(2025, 3, 3, 0)
    lots = [LotSpec("lot-centru", "centre", 120), LotSpec("lot-piata", "market", 60)]
    counts = lot_occupancy(lots, start, start + timedelta(weeks=2), seed=9)
    again = lot_occupancy(lots, start, start + timedelta(weeks=2), seed=9)
    assert counts.equals(again)
    assert len(counts) == 2 * 7 * 24 * 12
    assert counts.index[0] == start and str(counts.index.tz) == "UTC"
    assert counts.min().min() >= 0
    assert (counts.max() <= [120, 60]).all()
    hourly = counts.resample("1h").mean() / [120, 60]
    for lot in lots:
        demand = LotDemand.from_seed(9, lot.lot_id, lot.kind)
        expected = [demand.occupancy_probability(t + timedelta(minutes=30)) for t in hourly.index]
        assert np.corrcoef(hourly[lot.lot_id], expected)[0, 1] > 0.9


def test_bad_lots_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="use one of"):
        LotSpec("lot-x", "mall", 10)
    with pytest.raises(InvalidInputError, match="at least one bay"):
        LotSpec("lot-x", "centre", 0)
