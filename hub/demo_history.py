"""The demo's past weeks of lot occupancy, written as if its counters had been reporting.

A freshly loaded demo would have no history: no utilisation by hour of week, no
forecast until two weeks had passed. So the demo fills the last :data:`HISTORY_WEEKS`
weeks of every lot counter's ``occupied_spaces``, one reading every five minutes, from
the same simulation as the live simulator's (:mod:`simulator.lot_history`), and on each
later start fills the gap since the newest stored reading. Only counters are filled:
the bays' past events are not invented.

The lots' and urbanism zones' history series (:mod:`parking.history`) are filled for
the same times from the same counts: with no bay readings in the past, a lot's live
figure would have been its counter's, held within its capacity (the operators', else
the layer's, else its number of bays). Paid parking zones are not filled (the demo town
has none). A sample the history recorder already took is kept (duplicates are skipped).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pandas as pd
import psycopg

from hub.simulate import lot_profile
from parking import history, occupancy
from simulator.lot_history import DEFAULT_STEP, LotSpec, lot_occupancy
from storage import migrations
from storage.readings import Reading, ReadingWriter

log = logging.getLogger(__name__)

HISTORY_WEEKS = 4
"""How far back the demo's lot counters are filled: the forecast's training window."""
QUANTITY = "occupied_spaces"

_COUNTERS = """
SELECT c.device_id, c.asset_id, count(b.device_id),
       (SELECT max(r.time) FROM readings r
        WHERE r.device_id = c.device_id AND r.quantity = %s)
FROM devices c JOIN devices b ON b.asset_id = c.asset_id AND b.kind = 'parking_bay'
WHERE c.kind = 'parking_counter' AND %s = ANY(c.quantities)
GROUP BY c.device_id, c.asset_id ORDER BY c.device_id
"""
_LOTS = """
SELECT a.asset_id, a.properties->>'capacity', o.capacity, p.zone_code
FROM assets a
LEFT JOIN parking_lot_overrides o ON o.lot_id = a.asset_id
LEFT JOIN asset_places p ON p.asset_id = a.asset_id
WHERE a.kind = 'parking_lot'
"""


def fill_lot_history(
    conn: psycopg.Connection, seed: int, now: datetime, weeks: int = HISTORY_WEEKS
) -> int:
    """Write each lot counter's readings from ``weeks`` before ``now`` (or from its
    newest stored reading, if later) up to ``now``; return how many were written.

    A lot's capacity here is its number of bays, as the live simulator counts them."""
    counters = conn.execute(_COUNTERS, (QUANTITY, QUANTITY)).fetchall()
    if not counters:
        return 0
    # on the 5-minute grid, so that a later fill continues where this one stopped
    step_s = DEFAULT_STEP.total_seconds()
    floor = datetime.fromtimestamp(now.timestamp() // step_s * step_s, now.tzinfo)
    oldest = floor - timedelta(weeks=weeks)
    starts = {
        device: oldest if newest is None else max(oldest, newest + DEFAULT_STEP)
        for device, _, _, newest in counters
    }
    start = min(starts.values())
    if start >= now:
        return 0
    lots = [LotSpec(lot, lot_profile(lot), bays) for _, lot, bays, _ in counters]
    counts = lot_occupancy(lots, start, now, seed=seed)
    times = counts.index.to_pydatetime()
    readings = [
        Reading(device, QUANTITY, t, float(value))
        for device, lot, _, _ in counters
        for t, value in zip(times, counts[lot].to_numpy(), strict=True)
        if t >= starts[device]
    ]
    readings += _lot_series(conn, counts, {lot: bays for _, lot, bays, _ in counters})
    writer = ReadingWriter(migrations.readings_storage(conn))
    for k in range(0, len(readings), 10_000):
        writer.write(conn, readings[k : k + 10_000])
    log.info("filled %d past lot readings since %s", len(readings), start.isoformat())
    return len(readings)


def _lot_series(
    conn: psycopg.Connection, counts: pd.DataFrame, bays: dict[str, int]
) -> list[Reading]:
    """The lots' and zones' history samples from the lots' simulated counts."""
    capacities: dict[str, int] = {}
    zone_of: dict[str, str | None] = {}
    for lot, layer, override, zone in conn.execute(_LOTS).fetchall():
        if lot in bays:
            capacities[lot] = override or int(occupancy.capacity_of(layer)) or bays[lot]
            zone_of[lot] = zone
    lots = [lot for lot in counts.columns if lot in capacities]
    values = counts[lots].to_numpy()
    found: list[Reading] = []
    for t, row in zip(counts.index.to_pydatetime(), values, strict=True):
        figures = {
            lot: (min(max(int(n), 0), capacities[lot]), capacities[lot])
            for lot, n in zip(lots, row, strict=True)
        }
        found += history.figure_samples(t, figures, zone_of)
    return found
