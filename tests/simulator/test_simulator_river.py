"""The Danube model: seasonal shape, smoothness, flood hydrograph, water temperature."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from simulator.errors import InvalidInputError
from simulator.signals import DanubeModel, FloodWave, seasonal_level_cm

# Tr. Măgurele defence thresholds (DOMAIN.md); danger is illustrative.
ATTENTION_CM, FLOOD_CM, DANGER_CM = 500.0, 550.0, 650.0


def levels(model: DanubeModel, start: datetime, step: timedelta, n: int) -> np.ndarray:
    return np.array([model.level_cm(start + i * step) for i in range(n)])


def month_mean(model: DanubeModel, year: int, month: int) -> float:
    start = datetime(year, month, 1, tzinfo=UTC)
    return float(levels(model, start, timedelta(days=1), 28).mean())


def test_climatology_is_high_in_spring_and_low_in_autumn() -> None:
    may = seasonal_level_cm(datetime(2024, 5, 15, tzinfo=UTC))
    september = seasonal_level_cm(datetime(2024, 9, 15, tzinfo=UTC))
    october = seasonal_level_cm(datetime(2024, 10, 15, tzinfo=UTC))
    assert 400 <= may <= 500
    assert 50 <= september <= 150
    assert 50 <= october <= 150


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("year", [2021, 2024])
def test_level_is_higher_in_may_than_in_september(seed: int, year: int) -> None:
    model = DanubeModel.from_seed(seed)
    assert month_mean(model, year, 5) > month_mean(model, year, 9) + 150


def test_ten_minute_changes_are_small_without_a_flood() -> None:
    model = DanubeModel.from_seed(3)
    series = levels(model, datetime(2023, 1, 1, tzinfo=UTC), timedelta(minutes=10), 6 * 24 * 365)
    steps = np.abs(np.diff(series))
    assert steps.max() < 10.0
    assert steps.max() > 0.0  # it does move
    # Day-to-day variation exists but stays within what the lower Danube does.
    daily = np.abs(series[144:] - series[:-144])
    assert 10.0 < daily.max() < 80.0


def test_drought_years_take_the_level_below_gauge_zero_but_not_absurdly() -> None:
    minima = []
    for seed in range(6):
        series = levels(
            DanubeModel.from_seed(seed), datetime(2020, 1, 1, tzinfo=UTC), timedelta(days=1), 3650
        )
        minima.append(series.min())
        assert series.max() < DANGER_CM  # no danger level without a flood wave
    assert min(minima) < 0.0
    assert min(minima) > -150.0


def test_same_seed_same_level_and_different_seed_different_level() -> None:
    t = datetime(2024, 3, 3, 12, tzinfo=UTC)
    assert DanubeModel.from_seed(9).level_cm(t) == DanubeModel.from_seed(9).level_cm(t)
    assert DanubeModel.from_seed(9).level_cm(t) != DanubeModel.from_seed(10).level_cm(t)


def first_crossing(times: list[datetime], series: np.ndarray, level: float) -> datetime:
    return times[int(np.argmax(series >= level))]


@pytest.mark.parametrize("seed", range(4))
def test_flood_wave_crosses_thresholds_in_order_and_recedes_slowly(seed: int) -> None:
    wave = FloodWave(
        peak_cm=700.0, start=datetime(2024, 4, 1, tzinfo=UTC), rise_hours=96, fall_hours=300
    )
    model = DanubeModel.from_seed(seed, flood=wave)
    start = wave.start - timedelta(days=1)
    times = [start + i * timedelta(minutes=10) for i in range(6 * 24 * 20)]
    series = np.array([model.level_cm(t) for t in times])

    up = [first_crossing(times, series, level) for level in (ATTENTION_CM, FLOOD_CM, DANGER_CM)]
    assert up[0] < up[1] < up[2]
    assert series.max() == pytest.approx(700.0, abs=1.0)
    crest = times[int(np.argmax(series))]
    assert abs(crest - wave.peak_time) <= timedelta(minutes=10)

    down = next(t for t, v in zip(times, series, strict=True) if t > crest and v < ATTENTION_CM)
    assert down - crest > 2 * (crest - up[0])  # recession slower than the rise
    # Before the wave, the level is the ordinary one.
    quiet = DanubeModel.from_seed(seed)
    assert model.level_cm(start) == quiet.level_cm(start)
    assert model.level_cm(wave.start + timedelta(days=30)) == quiet.level_cm(
        wave.start + timedelta(days=30)
    )


def test_flood_wave_below_the_current_level_changes_nothing() -> None:
    wave = FloodWave(
        peak_cm=-50.0, start=datetime(2024, 4, 1, tzinfo=UTC), rise_hours=24, fall_hours=48
    )
    t = wave.peak_time
    assert DanubeModel.from_seed(1, wave).level_cm(t) == DanubeModel.from_seed(1).level_cm(t)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": datetime(2024, 4, 1)},  # naive
        {"rise_hours": 0.0},
        {"fall_hours": -5.0},
        {"peak_cm": float("nan")},
    ],
)
def test_flood_wave_rejects_bad_input(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "peak_cm": 600.0,
        "start": datetime(2024, 4, 1, tzinfo=UTC),
        "rise_hours": 48.0,
        "fall_hours": 120.0,
    }
    arguments.update(kwargs)
    with pytest.raises(InvalidInputError):
        FloodWave(**arguments)  # type: ignore[arg-type]


def test_water_temperature_is_seasonal_and_above_freezing() -> None:
    model = DanubeModel.from_seed(2)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    year = [model.water_temperature_c(start + timedelta(hours=6 * i)) for i in range(4 * 366)]
    january = np.mean(year[: 4 * 31])
    july = np.mean(year[4 * 182 : 4 * 213])
    assert min(year) >= 0.0
    assert july > january + 15.0
    assert 18.0 < max(year) < 30.0
