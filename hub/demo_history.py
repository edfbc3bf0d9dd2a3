"""The demo's past weeks of lot occupancy, written as if its counters had been reporting.

A freshly loaded demo would have no history: no utilisation by hour of week, no
forecast until two weeks had passed. So the demo fills the last :data:`HISTORY_WEEKS`
weeks of every lot counter's ``occupied_spaces``, one reading every five minutes, from
the same simulation as the live simulator's (:mod:`simulator.lot_history`), and on each
later start fills the gap since the newest stored reading. Only counters are filled:
the bays' past events are not invented.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import psycopg

from hub.simulate import lot_profile
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
    writer = ReadingWriter(migrations.readings_storage(conn))
    for k in range(0, len(readings), 10_000):
        writer.write(conn, readings[k : k + 10_000])
    log.info("filled %d past lot counter readings since %s", len(readings), start.isoformat())
    return len(readings)
