"""Past weeks of lot occupancy, as the live simulator would have counted them.

The demo's database starts with weeks of lot counter readings (``hub/demo_history.py``)
so that history, utilisation and the occupancy forecast have something to work on, and
the forecast's benchmark (``bench/forecast_bench.py``) evaluates on the same kind of
weeks. Both come from here: each lot's bays follow the same Markov chains as the live
simulator's (:mod:`simulator.bays`) around the lot's demand
(:class:`simulator.lot_demand.LotDemand`: its kind's week, popularity, busy and quiet
spells, holidays and events), and the counter reports the occupied bays at each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from simulator.bays import BayChains
from simulator.clock import require_aware
from simulator.errors import InvalidInputError
from simulator.lot_demand import LotDemand
from simulator.signals import LOT_PROFILES, seeded_rng

DEFAULT_STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class LotSpec:
    """A lot to simulate: its id, kind (a key of LOT_PROFILES) and number of bays."""

    lot_id: str
    kind: str
    capacity: int

    def __post_init__(self) -> None:
        """Refuse a kind the simulator does not know and a lot without bays."""
        if self.kind not in LOT_PROFILES:
            raise InvalidInputError(
                f"lot {self.lot_id!r} has kind {self.kind!r}; use one of {sorted(LOT_PROFILES)}"
            )
        if self.capacity <= 0:
            raise InvalidInputError(
                f"lot {self.lot_id!r} has capacity {self.capacity}; give it at least one bay"
            )


def lot_occupancy(
    lots: Sequence[LotSpec],
    start: datetime,
    end: datetime,
    *,
    seed: int = 42,
    step: timedelta = DEFAULT_STEP,
) -> pd.DataFrame:
    """Occupied bays of each lot at ``start``, ``start + step``, ... before ``end``.

    Returns a frame indexed by UTC time with one integer column per lot id. The same
    lots, seed, times and step give the same counts.

    Example:
        >>> from datetime import datetime, timezone
        >>> t0 = datetime(2024, 5, 13, tzinfo=timezone.utc)
        >>> frame = lot_occupancy([LotSpec("lot-piata", "market", 80)], t0, t0 + timedelta(days=1))
        >>> len(frame), int(frame["lot-piata"].max()) <= 80
        (288, True)
    """
    require_aware(start, "start")
    require_aware(end, "end")
    if step <= timedelta(0):
        raise InvalidInputError(f"step must be positive, got {step}")
    if len({lot.lot_id for lot in lots}) != len(lots):
        raise InvalidInputError("each lot id may appear once")
    demands = [LotDemand.from_seed(seed, lot.lot_id, lot.kind) for lot in lots]
    bay_lot = np.repeat(np.arange(len(lots), dtype=np.intp), [lot.capacity for lot in lots])
    dwell_s = np.array([d.mean_dwell_minutes * 60.0 for d in demands])
    chains = BayChains(bay_lot, seeded_rng(seed, "lot-history"))
    times = pd.date_range(start, end, freq=step, inclusive="left").tz_convert("UTC")
    counts = np.empty((len(times), len(lots)), dtype=np.int64)
    for k, t in enumerate(times.to_pydatetime()):
        p = np.array([d.occupancy_probability(t) for d in demands])
        if k == 0:
            chains.start(p)
        else:
            chains.step(step.total_seconds(), p, dwell_s)
        counts[k] = np.bincount(bay_lot[chains.occupied], minlength=len(lots))
    return pd.DataFrame(counts, index=times, columns=[lot.lot_id for lot in lots])
