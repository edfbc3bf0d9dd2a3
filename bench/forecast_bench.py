"""The occupancy forecast against the seasonal naive one, on held-out simulated weeks.

Simulates the demo's six lots (their kinds, bay counts drawn from the demo's range) over
``--train-weeks + --test-weeks`` weeks of 5-minute counter readings
(:mod:`simulator.lot_history`: weekly pattern per kind, per-lot popularity, busy and
quiet spells, public holidays, events, bay-by-bay noise), averages them by hour, and
forecasts 1-6 hours ahead from an origin every ``--origin-step`` hours of the held-out
weeks, each model fitted on the ``--train-weeks`` weeks before its origin only. Prints,
per model and horizon, the MAE in percentage points of capacity, its ratio to the
seasonal naive forecast (same hour last week), the share of held-out hours inside the
80 % and 95 % intervals, and the median fit time.

The statsforecast models run where statsforecast is installed (it is not a dependency
of the hub: see :mod:`parking.forecast`), e.g. in a virtual environment of its own::

    python -m venv /tmp/sf && /tmp/sf/bin/pip install statsforecast -e .
    /tmp/sf/bin/python bench/forecast_bench.py

Run: ``python bench/forecast_bench.py [--seeds 42 7 2024] [--origin-step 7]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from demo_town.catalogue import PARKING_BAYS_RANGE, PARKING_LOTS  # noqa: E402
from hub.simulate import lot_profile  # noqa: E402
from parking.forecast import MAX_HORIZON_H, WEEK_H, WeeklyProfileModel  # noqa: E402
from simulator.lot_history import LotSpec, lot_occupancy  # noqa: E402
from simulator.signals import seeded_rng  # noqa: E402

LEVELS = (80, 95)
START = datetime(2024, 9, 30, tzinfo=UTC)
"""A Monday; with the defaults the held-out weeks hold 30 November and 1 December,
public holidays."""

Forecaster = Callable[[np.ndarray], tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]]
"""Hourly fractions (oldest first) to MAX_HORIZON_H point forecasts and bounds per level."""


def demo_lots(seed: int) -> list[LotSpec]:
    """The demo's lots with their kinds and seeded bay counts from the demo's range."""
    rng = seeded_rng(seed, "bench-capacity")
    low, high = PARKING_BAYS_RANGE
    return [
        LotSpec(spec.asset_id, lot_profile(spec.asset_id), int(rng.integers(low, high + 1)))
        for spec in PARKING_LOTS
    ]


def seasonal_naive(y: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Same hour last week; no intervals."""
    steps = np.arange(1, MAX_HORIZON_H + 1)
    return y[len(y) - WEEK_H + steps - 1], {}


def weekly_profile(y: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """The hub's model (parking.forecast)."""
    return WeeklyProfileModel().fit(y).predict(MAX_HORIZON_H, LEVELS)


def weekly_mean(y: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """The hub's profile alone, without the AR(1) departure: what the AR term adds."""
    model = WeeklyProfileModel().fit(y, calibrate=False)
    model._phi = 0.0  # noqa: SLF001 - the ablation this line exists for
    return model.predict(MAX_HORIZON_H, ())


def statsforecast_models() -> dict[str, Forecaster]:
    """statsforecast's candidates, or none where it is not installed."""
    try:
        from statsforecast.models import MSTL, AutoARIMA, AutoETS
    except ImportError:
        print("statsforecast is not installed: its models are left out", file=sys.stderr)
        return {}

    def wrap(make: Callable[[], object]) -> Forecaster:
        def run(y: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
            model: Any = make()
            out = model.forecast(y=y.astype(float), h=MAX_HORIZON_H, level=list(LEVELS))
            bounds = {lv: (out[f"lo-{lv}"], out[f"hi-{lv}"]) for lv in LEVELS}
            return out["mean"], bounds

        return run

    return {
        "statsforecast MSTL(24,168)+AutoETS": wrap(
            lambda: MSTL(season_length=[24, WEEK_H], trend_forecaster=AutoETS(model="ZZN"))
        ),
        "statsforecast MSTL(168)+AutoARIMA": wrap(
            lambda: MSTL(season_length=WEEK_H, trend_forecaster=AutoARIMA(seasonal=False))
        ),
    }


@dataclass
class Score:
    """Errors and coverage of one model, per horizon."""

    errors: list[np.ndarray] = field(default_factory=list)
    inside: dict[int, list[np.ndarray]] = field(default_factory=dict)
    fit_s: list[float] = field(default_factory=list)


def evaluate(
    hourly: pd.DataFrame,
    models: dict[str, Forecaster],
    train_weeks: int,
    test_weeks: int,
    origin_step: int,
) -> dict[str, Score]:
    """Rolling-origin errors of every model over the last ``test_weeks`` of ``hourly``."""
    scores = {name: Score() for name in models}
    values = hourly.to_numpy()
    first = len(values) - test_weeks * WEEK_H
    for origin in range(first, len(values) - MAX_HORIZON_H + 1, origin_step):
        actual = values[origin : origin + MAX_HORIZON_H]
        for lot in range(values.shape[1]):
            y = values[origin - train_weeks * WEEK_H : origin, lot]
            for name, model in models.items():
                started = time.perf_counter()
                mean, bounds = model(y)
                scores[name].fit_s.append(time.perf_counter() - started)
                scores[name].errors.append(np.abs(np.asarray(mean) - actual[:, lot]))
                for level, (lo, hi) in bounds.items():
                    hit = (np.asarray(lo) <= actual[:, lot]) & (actual[:, lot] <= np.asarray(hi))
                    scores[name].inside.setdefault(level, []).append(hit)
    return scores


def main() -> None:
    """Simulate, evaluate, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--train-weeks", type=int, default=4)
    parser.add_argument("--test-weeks", type=int, default=4)
    parser.add_argument(
        "--origin-step",
        type=int,
        default=7,
        help="hours between origins (7: every hour of the day in turn)",
    )
    parser.add_argument("--no-statsforecast", action="store_true")
    args = parser.parse_args()

    models: dict[str, Forecaster] = {
        "seasonal naive (same hour last week)": seasonal_naive,
        "weekly profile (no AR)": weekly_mean,
        "weekly profile + AR(1) [hub]": weekly_profile,
    }
    if not args.no_statsforecast:
        models |= statsforecast_models()
    weeks = args.train_weeks + args.test_weeks
    totals: dict[str, Score] = {name: Score() for name in models}
    for seed in args.seeds:
        lots = demo_lots(seed)
        counts = lot_occupancy(lots, START, START + timedelta(weeks=weeks), seed=seed)
        hourly = counts.resample("1h").mean() / [lot.capacity for lot in lots]
        for name, score in evaluate(
            hourly, models, args.train_weeks, args.test_weeks, args.origin_step
        ).items():
            totals[name].errors += score.errors
            totals[name].fit_s += score.fit_s
            for level, hits in score.inside.items():
                totals[name].inside.setdefault(level, []).extend(hits)

    naive = np.mean(totals["seasonal naive (same hour last week)"].errors, axis=0)
    n = len(totals["seasonal naive (same hour last week)"].errors)
    print(
        f"seeds {args.seeds}, 6 lots, {args.train_weeks} training weeks, {args.test_weeks}"
        f" held-out weeks from {START:%Y-%m-%d}, an origin every {args.origin_step} h:"
        f" {n} forecasts per model. MAE in percentage points of capacity (ratio to naive)."
    )
    header = "".join(f"   h={h:<11}" for h in range(1, MAX_HORIZON_H + 1))
    print(f"{'model':<40}{header}  cover80 cover95  fit ms (median)")
    for name, score in totals.items():
        mae = np.mean(score.errors, axis=0)
        cells = "".join(f"{100 * m:6.2f} ({m / b:4.2f})" for m, b in zip(mae, naive, strict=True))
        cover = "".join(
            f"  {np.mean(score.inside[lv]):6.1%}" if lv in score.inside else "       -"
            for lv in LEVELS
        )
        print(f"{name:<40}{cells}{cover}  {1000 * np.median(score.fit_s):8.2f}")


if __name__ == "__main__":
    main()
