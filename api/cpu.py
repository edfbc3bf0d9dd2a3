"""CPU-bound work off the event loop: one lane of heavy requests per API process, in a
thread or a helper process.

A past twin snapshot, the shapely decision over a large area's candidates, reprojecting
thousands of features, a raster preview or a window each take tens to thousands of
milliseconds of CPU. On the event loop they stall every other request of the process;
in Starlette's thread pool (40 threads) eight of them at once hold eight pooled
connections and pass the GIL among themselves. Here a heavy request first takes the
lane's place (:data:`LANES`), holds no pooled connection while it waits or computes
(routes take connections only around their queries), and computes:

- in a thread (:func:`run`, or a ``heavy`` block) when the work reads the process's own
  state (the live twin) or spends its time in code that releases the GIL (numpy, GEOS
  operations, PROJ, rasterio reads);
- in a helper process (:func:`run_apart`), niced, when it would hold the GIL: a PNG
  encoding by GDAL, parsing and writing 10,000 GeoJSON geometries (GEOS creating Python
  objects, orjson). Measured with py-spy while eight heavy requests ran: those held the
  GIL 88 % of the time in a thread; light requests waited for it.

Flood extents are not here: the flood model's own lock computes one at a time, and a
level already asked is answered from its memo, which must not queue behind a preview.

``tests/api/test_event_loop.py`` measures it: with eight heavy requests running, light
requests' p90 was 49 ms (p50 13 ms) where it was 7 s (p50 5.2 s) before.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.to_thread
from fastapi import Request

T = TypeVar("T")
Args = TypeVarTuple("Args")

LANES = 1
"""Heavy requests running at once in a process (the others queue). One: a second lets
two GIL-holding threads take the interpreter from the loop in turn (with eight heavy
requests running, a light request's p95 was 210-260 ms with two against 45-112 ms with
one, on this 2-core machine); several API processes each have their own lane."""
SWITCH_INTERVAL_S = 0.001
"""How long a thread holding the GIL keeps it while the loop waits (Python's default is
5 ms): the loop gets it back within a millisecond (light p50 47-60 ms against 76-83 ms
with a snapshot thread holding it)."""
INLINE_ITEMS = 1000
"""Below this many features or candidates, shapely and reprojection take a few
milliseconds: done on the loop rather than queued behind a flood extent."""


def lane() -> anyio.CapacityLimiter:
    """A process's lane, made in the app's lifespan (it belongs to the running loop)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    _fewer_malloc_arenas()
    return anyio.CapacityLimiter(LANES)


MALLOC_ARENAS = 2
"""glibc's malloc gives each thread that allocates an arena of its own, up to 8 per
core, and keeps what is freed in each: heavy requests run on whichever thread of the
pool is free, so every arena grows to the largest work it once did (flood extents, raster
windows). With two, the API process held 690 MiB instead of 780 MiB after two minutes of
eight heavy requests at once, one run each (``bench/memory_bench.py``, BENCHMARKS.md)."""
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def _fewer_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at :data:`MALLOC_ARENAS` for threads started from now
    (``MALLOC_ARENA_MAX`` does the same, but only when set before the process starts)."""
    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc: its allocator is not this one
        pass


HELPER_NICENESS = 10
"""Helpers yield the CPU to the API's loop and to PostgreSQL when both want it."""


class Helpers:
    """A process's helper processes, spawned (the API process runs threads) at their
    first task: an app that never needs them (most tests) does not pay their start."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, work: Callable[[*Args], T], *args: *Args) -> T:
        """``work(*args)`` in a helper."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                LANES,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=os.nice,
                initargs=(HELPER_NICENESS,),
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)

    def shutdown(self) -> None:
        """Stop the helpers, if they were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


@asynccontextmanager
async def heavy(request: Request) -> AsyncIterator[None]:
    """Hold one of the lane's places for a heavy request's database queries and
    computation (run the latter with ``anyio.to_thread.run_sync``)."""
    async with request.app.state.cpu:
        yield


async def run(request: Request, work: Callable[[*Args], T], *args: *Args) -> T:
    """``work(*args)`` in a thread, once the lane has a place: for work on the process's
    own state (the live twin, the flood model) or that releases the GIL."""
    async with heavy(request):
        return await anyio.to_thread.run_sync(work, *args)


async def run_apart(request: Request, work: Callable[[*Args], T], *args: *Args) -> T:
    """``work(*args)`` in a helper process, once the lane has a place: for work that
    would hold the GIL (a PNG encoding, GeoJSON parsing and writing) on inputs and
    results that are cheap to send (strings, bytes, numbers)."""
    helpers: Helpers = request.app.state.helpers
    async with heavy(request):
        return await helpers.run(work, *args)
