"""Arrivals, stays and turnover of bays, counted by hand from their events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parking import turnover

DAY = datetime(2025, 6, 2, tzinfo=UTC)


def _h(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def test_repeats_and_order_do_not_make_events() -> None:
    events = [(_h(9), 0.0), (_h(8), 1.0), (_h(8), 1.0), (_h(8.5), 1.0), (_h(9), 0.0)]
    found = turnover.activity("b", events, 0.0, DAY, DAY + timedelta(days=1))
    assert found.arrivals == 1 and found.dwell_s == (3600.0,)


def test_spells_cut_by_the_period_are_not_stays() -> None:
    events = [(_h(-1), 1.0), (_h(2), 0.0), (_h(23), 1.0), (_h(25), 0.0)]
    found = turnover.activity("b", events, 1.0, DAY, DAY + timedelta(days=1))
    # the -1 and 25 h readings are outside; occupied at midnight, left at 2, back at 23
    assert found.arrivals == 1 and found.dwell_s == ()


def test_an_unknown_start_is_not_an_arrival() -> None:
    found = turnover.activity("b", [(_h(1), 1.0), (_h(2), 0.0)], None, DAY, _h(24))
    assert found.arrivals == 0 and found.dwell_s == ()


def test_a_lot_of_no_bays_has_no_turnover() -> None:
    empty = turnover.turnover([], DAY, _h(24))
    assert empty.per_bay_per_day is None and empty.dwell_median_min is None


def test_readings_at_the_start_count_and_at_the_end_do_not() -> None:
    end = DAY + timedelta(days=1)
    events = [(DAY, 1.0), (_h(1), 0.0), (end, 1.0)]
    found = turnover.activity("b", events, 0.0, DAY, end)
    assert found == turnover.BayActivity("b", 1, (3600.0,))


def test_half_is_occupied_before_the_period_and_in_it() -> None:
    end = DAY + timedelta(days=1)
    # occupied (0.5, then 1.0) at midnight: a heartbeat at 1 h, not an arrival
    for before in (0.5, 1.0):
        assert turnover.activity("b", [(_h(1), 1.0)], before, DAY, end).arrivals == 0
    assert turnover.activity("b", [(_h(1), 0.5)], 0.0, DAY, end).arrivals == 1


def test_each_bays_activity_over_the_bays_known_before_or_during_the_period() -> None:
    end = DAY + timedelta(days=1)
    readings = {
        "b2": [(_h(8), 1.0), (_h(9), 0.0), (_h(10), 1.0)],
        "b1": [(_h(-1), 1.0), (_h(8), 1.0), (_h(8.25), 0.0), (_h(12), 1.0), (_h(14), 0.0)],
    }
    found = turnover.by_bay(readings, {"b1": 0.0, "b3": 1.0}, DAY, end)
    assert found == [
        turnover.BayActivity("b1", 2, (900.0, 7200.0)),
        # unknown at midnight: its first stay is not known to begin in the period
        turnover.BayActivity("b2", 1, ()),
        turnover.BayActivity("b3", 0, ()),
    ]


def test_turnover_per_bay_per_day_and_the_dwell_distribution() -> None:
    bays = [
        turnover.BayActivity("a", 3, (600.0, 1200.0, 1800.0)),
        turnover.BayActivity("b", 1, (3600.0,)),
        turnover.BayActivity("c", 0, ()),
    ]
    found = turnover.turnover(bays, DAY, DAY + timedelta(days=2))
    # 4 arrivals over 3 bays and 2 days; stays of 10, 20, 30, 60 min: the median between
    # 20 and 30, the 90th percentile at rank 2.7 of 0..3: 30 + 0.7 * 30
    assert found == turnover.Turnover(
        bays=3,
        days=2.0,
        arrivals=4,
        per_bay_per_day=4 / 6,
        stays=4,
        dwell_median_min=25.0,
        dwell_p90_min=pytest.approx(51.0),  # type: ignore[arg-type]
    )
    # half a day: twice the rate of the arrivals
    half = turnover.turnover(bays, DAY, _h(12))
    assert (half.days, half.per_bay_per_day) == (0.5, 4 / 1.5)
    # an empty period has no rate
    assert turnover.turnover(bays, DAY, DAY).per_bay_per_day is None


def test_a_turnovers_document_rounds_its_figures() -> None:
    found = turnover.Turnover(3, 1 / 3, 2, 2 / 3, 2, 12.34567, 45.67891).document()
    assert found == {
        "bays": 3,
        "days": 0.3333,
        "arrivals": 2,
        "turnover_per_bay_per_day": 0.667,
        "stays": 2,
        "dwell_median_min": 12.346,
        "dwell_p90_min": 45.679,
    }
    empty = turnover.Turnover(0, 1.0, 0, None, 0, None, None).document()
    assert empty["turnover_per_bay_per_day"] is None
    assert (empty["dwell_median_min"], empty["dwell_p90_min"]) == (None, None)
