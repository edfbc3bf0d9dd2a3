"""The occupancy forecast on held-out weeks of simulated lots, against the seasonal naive.

The naive forecast (same hour last week) is computed here from the series itself, and the
held-out hours are the simulation's own, never seen by the model it is compared with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from parking.forecast import (
    MAX_HORIZON_H,
    ForecastHour,
    InvalidHistory,
    LotForecast,
    NoCapacity,
    NotEnoughHistory,
    StaleHistory,
    WeeklyProfileModel,
    forecast_lot,
    hourly_grid,
)
from simulator.lot_history import LotSpec, lot_occupancy

WEEK = 168
START = datetime(2024, 10, 7, tzinfo=UTC)  # a Monday
LOTS = [
    LotSpec("lot-centru", "centre", 120),
    LotSpec("lot-gara", "station", 90),
    LotSpec("lot-spital", "hospital", 100),
]
TRAIN_WEEKS, TEST_WEEKS = 4, 2
ORIGIN_STEP_H = 5  # not a divisor of 24: origins fall at every hour of the day over time


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    """Six weeks of three simulated lots, averaged by hour, as fractions of capacity."""
    weeks = TRAIN_WEEKS + TEST_WEEKS
    counts = lot_occupancy(LOTS, START, START + timedelta(weeks=weeks), seed=11)
    return counts.resample("1h").mean() / [lot.capacity for lot in LOTS]


@pytest.fixture(scope="module")
def held_out(hourly: pd.DataFrame) -> dict[str, np.ndarray]:
    """Forecasts from origins over the last two weeks, each from the weeks before it only:
    actual, forecast and naive occupied places, and interval bounds, per origin and hour."""
    rows: dict[str, list[np.ndarray]] = {}
    first = len(hourly) - TEST_WEEKS * WEEK
    for origin in range(first, len(hourly) - MAX_HORIZON_H + 1, ORIGIN_STEP_H):
        for lot in LOTS:
            series = hourly[lot.lot_id]
            made = forecast_lot(series.iloc[origin - TRAIN_WEEKS * WEEK : origin], lot.capacity)
            actual = series.iloc[origin : origin + MAX_HORIZON_H].to_numpy() * lot.capacity
            naive = series.iloc[origin - WEEK : origin - WEEK + MAX_HORIZON_H].to_numpy()
            assert [r.start for r in made.rows] == list(
                series.index[origin : origin + MAX_HORIZON_H]
            )
            found = {
                "actual": actual,
                "forecast": np.array([r.occupied for r in made.rows]),
                "naive": naive * lot.capacity,
                "capacity": np.full(MAX_HORIZON_H, lot.capacity),
            }
            for level in (80, 95):
                found[f"lo{level}"] = np.array([r.intervals[level][0] for r in made.rows])
                found[f"hi{level}"] = np.array([r.intervals[level][1] for r in made.rows])
            for key, value in found.items():
                rows.setdefault(key, []).append(value)
    return {key: np.array(value) for key, value in rows.items()}


def test_forecast_beats_the_seasonal_naive_at_every_horizon(held_out: dict) -> None:
    share = held_out["capacity"]
    model = np.mean(np.abs(held_out["forecast"] - held_out["actual"]) / share, axis=0)
    naive = np.mean(np.abs(held_out["naive"] - held_out["actual"]) / share, axis=0)
    assert (model < naive).all(), (model, naive)
    assert model[0] < 0.8 * naive[0]  # the hour ahead: the lot's current departure counts
    assert model.mean() < 0.9 * naive.mean()


def test_intervals_hold_about_their_share_of_held_out_hours(held_out: dict) -> None:
    inside = {
        level: np.mean(
            (held_out[f"lo{level}"] <= held_out["actual"])
            & (held_out["actual"] <= held_out[f"hi{level}"])
        )
        for level in (80, 95)
    }
    assert 0.7 <= inside[80] <= 0.9, inside
    assert 0.88 <= inside[95] <= 0.99, inside
    assert (held_out["lo95"] <= held_out["lo80"]).all()
    assert (held_out["lo80"] <= held_out["forecast"]).all()
    assert (held_out["forecast"] <= held_out["hi80"]).all()
    assert (held_out["hi80"] <= held_out["hi95"]).all()


def weekly(values: np.ndarray, weeks: int = 3, start: datetime = START) -> pd.Series:
    """``values`` (one week, hourly) repeated ``weeks`` times from ``start``."""
    index = pd.date_range(start, periods=weeks * WEEK, freq="h")
    return pd.Series(np.tile(values, weeks), index=index)


def test_forecasts_and_bounds_stay_within_zero_and_capacity() -> None:
    rng = np.random.default_rng(3)
    hours = 3 * WEEK
    # a lot flipping between empty and full at random: wide intervals on both sides
    series = pd.Series(
        rng.integers(0, 2, hours).astype(float),
        index=pd.date_range(START, periods=hours, freq="h"),
    )
    made = forecast_lot(series, capacity=50)
    for row in made.rows:
        assert 0.0 <= row.occupied <= 50.0
        for lower, upper in row.intervals.values():
            assert 0.0 <= lower <= upper <= 50.0
    assert any(row.intervals[95] == (0.0, 50.0) for row in made.rows)


def test_a_full_lot_is_forecast_full_not_beyond() -> None:
    full = weekly(np.ones(WEEK))
    made = forecast_lot(full, capacity=80)
    assert [row.occupied for row in made.rows] == [80.0] * MAX_HORIZON_H


def test_less_than_two_weeks_is_refused_with_what_to_do() -> None:
    short = weekly(np.full(WEEK, 0.5), weeks=2).iloc[: 13 * 24]
    with pytest.raises(NotEnoughHistory, match="2 weeks"):
        forecast_lot(short, capacity=40)
    with pytest.raises(NotEnoughHistory):
        forecast_lot(pd.Series([], index=pd.DatetimeIndex([], tz="UTC")), capacity=40)


def test_sparse_weeks_are_refused() -> None:
    sparse = weekly(np.full(WEEK, 0.5)).iloc[::2]  # every other hour
    with pytest.raises(NotEnoughHistory, match="80%"):
        forecast_lot(sparse, capacity=40)


def test_a_silent_counter_is_named_rather_than_forecast_from_old_hours() -> None:
    series = weekly(np.full(WEEK, 0.5))
    end = series.index[-1] + pd.Timedelta(hours=1)
    later = forecast_lot(series, capacity=40, hours=2, now=end + timedelta(hours=3, minutes=20))
    assert [r.horizon_h for r in later.rows] == [4, 5]
    assert later.rows[0].start == end + timedelta(hours=3)
    with pytest.raises(StaleHistory, match="has not reported"):
        forecast_lot(series, capacity=40, now=end + timedelta(hours=7))


def test_a_lot_without_capacity_is_refused() -> None:
    with pytest.raises(NoCapacity, match="number of places"):
        forecast_lot(weekly(np.full(WEEK, 0.5)), capacity=0)


def test_missing_hours_are_tolerated() -> None:
    series = weekly(0.2 + 0.6 * (np.arange(WEEK) % 24 >= 12))  # busy afternoons
    holey = series.drop(series.index[100:110])
    made = forecast_lot(holey, capacity=100, hours=1)
    assert made.rows[0].occupied == pytest.approx(20.0, abs=0.5)  # midnight: quiet


# --- what a forecast says about itself, and each refusal at its edge


def test_a_steady_lot_is_forecast_steady_with_what_it_was_made_from() -> None:
    series = weekly(np.full(WEEK, 0.123456))
    made = forecast_lot(series, capacity=100, hours=2)
    end = START + timedelta(weeks=3)
    assert made == LotForecast(
        capacity=100,
        model="weekly profile + AR(1)",
        training_start=START,
        training_end=end,
        rows=(
            # 12.3456 places, to a tenth; no error in its last week: no width
            ForecastHour(end, 1, 12.3, {80: (12.3, 12.3), 95: (12.3, 12.3)}),
            ForecastHour(end + timedelta(hours=1), 2, 12.3, {80: (12.3, 12.3), 95: (12.3, 12.3)}),
        ),
    )
    assert [r.horizon_h for r in forecast_lot(series, capacity=100, hours=6).rows] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]


def test_the_training_window_is_the_last_four_weeks() -> None:
    made = forecast_lot(weekly(np.full(WEEK, 0.5), weeks=6), capacity=10, hours=1)
    assert made.training_start == START + timedelta(weeks=2)


def test_two_weeks_are_enough_without_calibration() -> None:
    made = forecast_lot(weekly(np.full(WEEK, 0.5), weeks=2), capacity=40, hours=3)
    assert [(r.occupied, r.intervals[80]) for r in made.rows] == [(20.0, (20.0, 20.0))] * 3


def test_intervals_are_as_wide_as_the_errors_of_the_last_week() -> None:
    # two weeks at 30 %, then a week at 50 %: forecasting through that week from the weeks
    # before it, the model erred by about 10 places of 100 and more; its intervals say so
    index = pd.date_range(START, periods=3 * WEEK, freq="h")
    series = pd.Series(np.r_[np.full(2 * WEEK, 0.3), np.full(WEEK, 0.5)], index=index)
    made = forecast_lot(series, capacity=100, hours=6)
    widths = [upper - lower for lower, upper in (r.intervals[80] for r in made.rows)]
    assert min(widths) > 15
    # and the further ahead, the larger its errors were: each horizon has its own width
    assert widths == sorted(widths) and widths[0] < widths[-1]


@pytest.mark.parametrize("hours", [0, 7])
def test_hours_beyond_the_models_reach_are_refused(hours: int) -> None:
    with pytest.raises(InvalidHistory, match=rf"^hours must be between 1 and 6, got {hours}$"):
        forecast_lot(weekly(np.full(WEEK, 0.5)), capacity=40, hours=hours)


def test_a_counter_silent_for_six_hours_is_still_forecast() -> None:
    series = weekly(np.full(WEEK, 0.5))
    end = series.index[-1] + pd.Timedelta(hours=1)
    made = forecast_lot(series, capacity=40, hours=1, now=end + timedelta(hours=6, minutes=59))
    assert [(r.start, r.horizon_h) for r in made.rows] == [(end + timedelta(hours=6), 7)]
    with pytest.raises(StaleHistory) as refused:
        forecast_lot(series, capacity=40, now=end + timedelta(hours=7))
    assert str(refused.value) == (
        f"the lot's newest hourly occupancy is for {series.index[-1].isoformat()}, 7 hours"
        " before the hours asked for; check its counter, which has not reported since"
    )


def test_the_refusals_say_what_the_lot_has_and_needs() -> None:
    short = weekly(np.full(WEEK, 0.5), weeks=2).iloc[: 13 * 24]
    with pytest.raises(NotEnoughHistory) as refused:
        forecast_lot(short, capacity=40)
    assert str(refused.value) == (
        "the lot has 312 hours of occupancy over 13.0 days; a forecast needs 2 weeks with"
        " readings in 80% of their hours. Try again once its counter has reported that long"
    )
    with pytest.raises(NotEnoughHistory) as refused:
        forecast_lot(pd.Series([], index=pd.DatetimeIndex([], tz="UTC")), capacity=40)
    assert str(refused.value) == (
        "the lot has no hourly occupancy yet; a forecast needs 2 weeks of its counter's readings"
    )
    with pytest.raises(NoCapacity) as refused:
        forecast_lot(weekly(np.full(WEEK, 0.5)), capacity=-3)
    assert (
        str(refused.value) == "the lot's capacity is -3; record its number of places to forecast it"
    )
    with pytest.raises(NotEnoughHistory, match=r"^300 hours given; the model needs 2 weeks$"):
        WeeklyProfileModel().fit(np.full(300, 0.5))


def test_a_lot_of_one_place_is_forecast() -> None:
    made = forecast_lot(weekly(np.full(WEEK, 1.0)), capacity=1, hours=1)
    assert made.rows[0].occupied == 1.0


def test_the_history_is_put_on_an_hourly_utc_grid() -> None:
    bucharest = pd.DatetimeIndex(
        ["2024-05-06 15:00", "2024-05-06 12:00", "2024-05-06 13:00"], tz="Europe/Bucharest"
    )
    grid = hourly_grid(pd.Series([1.0, 0.0, 0.5], index=bucharest))
    assert list(grid.index) == list(
        pd.date_range("2024-05-06 09:00", periods=4, freq="h", tz="UTC")
    )
    assert str(grid.index.tz) == "UTC"
    assert grid.to_numpy().tolist()[:2] == [0.0, 0.5] and np.isnan(grid.iloc[2])
    assert grid.iloc[3] == 1.0
    empty = hourly_grid(pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype=float))
    assert empty.empty


@pytest.mark.parametrize(
    ("index", "values", "message"),
    [
        (
            pd.DatetimeIndex(["2024-05-06 13:00"]),
            [0.5],
            "give the history a timezone-aware DatetimeIndex of hour starts",
        ),
        (
            pd.DatetimeIndex(["2024-05-06 13:00", "2024-05-06 13:30"], tz="UTC"),
            [0.5, 0.5],
            "the history's times must be hour starts (e.g. 2024-05-06 13:00)",
        ),
        (
            pd.DatetimeIndex(["2024-05-06 13:00"], tz="UTC"),
            [1.01],
            "the history is a fraction of capacity: keep it within [0, 1]",
        ),
        (
            pd.DatetimeIndex(["2024-05-06 13:00"], tz="UTC"),
            [-0.01],
            "the history is a fraction of capacity: keep it within [0, 1]",
        ),
    ],
)
def test_a_history_that_is_not_hourly_fractions_is_refused(
    index: pd.DatetimeIndex, values: list[float], message: str
) -> None:
    with pytest.raises(InvalidHistory) as refused:
        hourly_grid(pd.Series(values, index=index))
    assert str(refused.value) == message


def test_the_intervals_asked_for_are_the_ones_given() -> None:
    made = forecast_lot(weekly(np.full(WEEK, 0.5)), capacity=40, hours=1, levels=(90,))
    assert list(made.rows[0].intervals) == [90]


def test_without_a_week_to_calibrate_on_the_intervals_are_widened_gaussian_ones() -> None:
    # two weeks mirroring each other about 50 %, 10 points above and below in turn: the
    # profile is 50 %, the departures +-0.1 with no lag-1 correlation to use (phi = 0),
    # so every hour's error is 0.1 of capacity: half-widths of 1.25 z 10 places
    index = pd.date_range(START, periods=2 * WEEK, freq="h")
    turns = np.where(np.arange(WEEK) % 2 == 0, 0.1, -0.1)
    series = pd.Series(np.r_[0.5 + turns, 0.5 - turns], index=index)
    made = forecast_lot(series, capacity=100, hours=2, levels=(80, 90, 95, 99, 50))
    for row in made.rows:
        assert row.occupied == 50.0
        assert row.intervals == {
            80: (34.0, 66.0),  # z 1.2816: 16.02 places
            90: (29.4, 70.6),  # z 1.6449: 20.56
            95: (25.5, 74.5),  # z 1.96: 24.5
            99: (17.8, 82.2),  # z 2.5758: 32.2
            50: (25.5, 74.5),  # a level without its z: 1.96's
        }
