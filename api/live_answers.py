"""The live state's big answers (the twin's, the parking lots'), encoded and
gzip-compressed once and reused for a moment.

The list of parking lots (2,500 lots, 1.3 MB) and the snapshot (10,000 assets, 1.6 MB)
are asked about 17 times a second under load (issue 12). Made anew, each cost 11-14 ms
of CPU (``bench/twin_answers_bench.py``, BENCHMARKS.md): gathering and joining the twin's
serialised documents (6-7 ms, on the event loop) and compressing them (3-5 ms) — the
same bytes many times a second; reused, 1-3 ms. Here each answer is kept once made, with
its gzip-compressed form (made on first demand), and served again while it is fresh:

- an operator's change to a lot and a reload of the twin (assets or devices changed)
  discard it as soon as the live state it is made from (:class:`Versioned`: the live
  twin, :class:`parking.live.LiveLots`) has applied them: the next answer shows them;
- sensor readings change the twin many times a second under load; an answer is reused
  for at most ``reuse_s`` (1 s by default) after one did, so it shows the readings the
  twin held at most that long ago (and a snapshot's ``at`` says when it was made). A list
  of assets stays valid however old while nothing in the twin changed.

The parking routes' answers (``/parking/lots``, ``/parking/zones``: every lot's state
and data age, made anew for each request) took a fifth of the API's event loop under
load with 100 users; they name the moment they were made (``as_of``), so they are reused
for at most ``reuse_s`` whatever changed, an operator's action but at once.

Every signed-in user sees the same twin (``SIGNED_IN`` in :mod:`auth.policy`, whatever
the role), and the access check runs before any route, so a kept answer never reaches a
caller the route would refuse; answers that link to other features are kept per base URL
(the links are absolute). Each answer carries a weak ETag made from its body (its length
and two checksums, 64 bits in all: 0.2 ms for 1.6 MB with zlib-ng's, where SHA-256
takes 2-3 ms), the same in every API process: a client sending it back in
``If-None-Match`` gets ``304 Not Modified`` and no body while the answer is the same
(:mod:`api.etags`, which the vector tiles' tags share).

Memory is bounded by an LRU of :data:`MAX_BYTES` (cachetools); a key per query means a
few entries in practice. Why not an HTTP cache in front (nginx, Varnish): the freshness
depends on the twin's own change notifications, which only the API process sees.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

import anyio.to_thread
from cachetools import LRUCache
from starlette.requests import Request
from starlette.responses import Response

from api import compression, etags

MAX_BYTES = 64 * 2**20
"""Bodies kept in one process, identity and compressed together (about 30 snapshots)."""
ENTRY_OVERHEAD = 1024
"""Bytes counted per answer beyond its bodies (its key, its record): many tiny answers
(a kind nothing has, asked under many names) stay bounded too."""
THREAD_MINIMUM = 128 * 1024
"""Bodies compressed in a worker thread, off the event loop (Starlette's threshold)."""
_JSON = "application/json"


class Versioned(Protocol):
    """A live state answers are made from (:class:`twin.live.LiveTwin`,
    :class:`parking.live.LiveLots`)."""

    version: int
    """Moves whenever what it holds changes."""
    generation: int
    """Moves only with the changes nobody should wait for (a reload, an operator's
    action): an answer made before is not served again."""


Make = Callable[[], bytes] | Callable[[], Awaitable[bytes]]
"""Makes an answer's JSON body, on the event loop or awaiting (a query)."""


@dataclass
class _Answer:
    body: bytes
    etag: str
    made: float
    version: int
    generation: int
    dated: bool
    gzipped: asyncio.Task[bytes] | None = None


def of(request: Request) -> LiveAnswers:
    """The API process's kept answers (made in the app's lifespan)."""
    answers: LiveAnswers = request.app.state.live_answers
    return answers


def _size(answer: _Answer) -> int:
    # the compressed body is not there yet when the answer is stored: a tenth of it is
    # what JSON of the twin compresses to (1.3 MB of lots to 72 KB)
    return len(answer.body) + len(answer.body) // 10 + ENTRY_OVERHEAD


class LiveAnswers:
    """Answers made from the live twin, kept per key while fresh (see the module).

    ``reuse_s`` 0 keeps nothing: each answer is made and compressed anew.

    Example:
        >>> answers = LiveAnswers(1.0)
        >>> await answers.respond(request, live, ("snapshot",), make, dated=True)  # doctest: +SKIP
    """

    def __init__(self, reuse_s: float, max_bytes: int = MAX_BYTES) -> None:
        self.reuse_s = reuse_s
        self._kept: LRUCache[Hashable, _Answer] = LRUCache(max_bytes, getsizeof=_size)
        self.made = 0
        """Answers made (encoded) so far."""
        self.compressed = 0
        """Answers gzip-compressed so far."""

    def _fresh(self, answer: _Answer, live: Versioned, now: float) -> bool:
        if answer.generation != live.generation:
            return False
        if answer.version == live.version and not answer.dated:
            return True
        return now - answer.made <= self.reuse_s

    async def _get(self, live: Versioned, key: Hashable, make: Make, dated: bool) -> _Answer:
        now = time.monotonic()
        answer = self._kept.get(key)
        if answer is not None and self._fresh(answer, live, now):
            return answer
        # before make: a change while it awaits makes the answer stale, never fresh
        version, generation = live.version, live.generation
        body = await _body(make)
        self.made += 1
        answer = _Answer(body, etags.etag(body), now, version, generation, dated)
        if _size(answer) <= self._kept.maxsize:
            self._kept[key] = answer
        return answer

    async def _gzipped(self, answer: _Answer) -> bytes:
        task = answer.gzipped
        if task is None or (task.done() and task.exception() is not None):
            # one compression, however many requests wait for it

            async def compress() -> bytes:
                self.compressed += 1
                if len(answer.body) < THREAD_MINIMUM:
                    return compression.gzip_body(answer.body)
                return await anyio.to_thread.run_sync(compression.gzip_body, answer.body)

            task = answer.gzipped = asyncio.ensure_future(compress())
        return await asyncio.shield(task)

    async def respond(
        self,
        request: Request,
        live: Versioned,
        key: Hashable,
        make: Make,
        *,
        dated: bool = False,
    ) -> Response:
        """The answer under ``key``: kept, or made by ``make`` (JSON bytes, from ``live``)
        and kept. ``dated``: the body names the moment it was made, so it is never reused
        beyond ``reuse_s``, changed twin or not. A 304 where ``If-None-Match`` names it;
        gzip-compressed where the client accepts gzip."""
        if self.reuse_s <= 0:
            return Response(await _body(make), media_type=_JSON)
        answer = await self._get(live, key, make, dated)
        headers = {
            "ETag": answer.etag,
            "Vary": "Accept-Encoding",
            "Cache-Control": "private, no-cache",
        }
        if etags.matches(request.headers.get("if-none-match"), answer.etag):
            return Response(status_code=304, headers=headers)
        # the same test as the compression middleware's, which leaves this body alone
        if len(answer.body) >= compression.MINIMUM_SIZE and "gzip" in request.headers.get(
            "accept-encoding", ""
        ):
            body = await self._gzipped(answer)
            return Response(body, media_type=_JSON, headers=headers | {"Content-Encoding": "gzip"})
        return Response(answer.body, media_type=_JSON, headers=headers)


async def _body(make: Make) -> bytes:
    body = make()
    return await body if inspect.isawaitable(body) else body
