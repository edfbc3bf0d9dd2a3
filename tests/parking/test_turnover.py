"""Arrivals and stays of one bay, counted by hand from its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
