"""CPU of the live state's own work in an API process, on the load test's town: what
the py-spy profile of the load test (BENCHMARKS.md, "Where the API's event loop went
under load") found on the event loop, each step timed alone.

Run from the repository root (PostgreSQL on 127.0.0.1:5432), after ``load_test.py``
has built database ``load_town`` (99,775 parcels, 10,020 assets, 2,506 parking lots):

    .venv/bin/python bench/live_state_bench.py --repeat 7

Times (CPU of this process, median of ``--repeat``; the queries' own time in PostgreSQL
is not counted, their rows' decoding is):

- ``twin reload``: every asset re-read and its status made (:func:`twin.state.current`),
  what the live twin did for each ``readings_changed`` notification of ``*``;
- ``twin refresh, one batch``: the assets of ``--devices`` devices re-read, what a batch
  of about 2,000 readings listed in its notifications costs instead;
- ``ageing, every lot``: every lot's status computed again, what the live twin did
  every 5 s; ``ageing, lots due``: :meth:`twin.live.LiveTwin.age` a minute after loading
  (the lots whose status may have changed by then);
- ``parking lots answer``: every lot's state and document from what the live lots hold,
  and the JSON of ``/parking/lots``, made anew (what every request made while the lots
  changed; now made at most once per ``live_answer_reuse_s``).

Prints one JSON document, milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import support  # noqa: F401 - puts the repository root on sys.path
from psycopg import AsyncConnection
from scratch_db import ADMIN_URL

from parking import store
from twin import state
from twin.live import LiveTwin

DATABASE = "load_town"


async def _cpu_ms(step: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """Median CPU milliseconds of ``step`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        await step()
        times.append((time.process_time() - start) * 1000)
    return round(statistics.median(times), 1)


async def run(url: str, repeat: int, devices: int) -> dict[str, Any]:
    """Every figure of the module, on database ``url``."""
    found: dict[str, Any] = {}
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        current = await state.current(conn)
        lots = [a for a in current.assets if a["kind"] == state.PARKING_LOT]
        rows = await (
            await conn.execute(
                "SELECT device_id, asset_id FROM devices WHERE asset_id IS NOT NULL"
                " ORDER BY device_id LIMIT %s",
                (devices,),
            )
        ).fetchall()
        batch = sorted({r[1] for r in rows})
        decisions = await state.parking_decisions(conn)
        found["assets"], found["lots"], found["batch_assets"] = (
            len(current.assets),
            len(lots),
            len(batch),
        )
        found["twin reload"] = await _cpu_ms(lambda: state.current(conn), repeat)
        found["twin refresh, one batch"] = await _cpu_ms(lambda: state.current(conn, batch), repeat)

        async def every_lot() -> None:
            now = datetime.now(UTC)
            for lot in lots:
                state.current_lot_status(lot, now, decisions)

        found["ageing, every lot"] = await _cpu_ms(every_lot, repeat)

        held = await store.inputs(conn, datetime.now(UTC))

        async def lots_answer() -> bytes:
            now = datetime.now(UTC)
            documents = [h.at(now).document() for h in held]
            return orjson.dumps({"as_of": now.isoformat(), "lots": documents})

        found["parking lots answer"] = await _cpu_ms(lots_answer, repeat)
        found["parking lots answer, bytes"] = len(await lots_answer())

    live = LiveTwin(url)
    await live.start()
    try:
        await asyncio.wait_for(live.ready.wait(), 120)
        later = datetime.now(UTC) + timedelta(minutes=1)

        async def due() -> None:
            live.age(later)

        found["ageing, lots due"] = await _cpu_ms(due, repeat)
        found["ageing, lots due: recomputed"] = live.aged // repeat
    finally:
        await live.stop()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--devices", type=int, default=900, help="devices in one batch")
    args = parser.parse_args()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
    with psycopg.connect(url) as conn:  # fails clearly if load_town is not built
        conn.execute("SELECT 1 FROM assets LIMIT 1")
    print(json.dumps(asyncio.run(run(url, args.repeat, args.devices)), indent=2))


if __name__ == "__main__":
    main()
