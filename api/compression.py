"""Gzip for every answer a client accepts it for: Starlette's middleware, zlib-ng's deflate.

On a real network the bytes, not the server's milliseconds, decide how long a planner
waits: a page of 1,000 parcels is 394 KB of GeoJSON, 58 KB gzip-compressed. Starlette's
``GZipMiddleware`` already leaves alone what must not be compressed here: answers that
carry their own ``Content-Encoding`` (vector tiles are stored gzip-compressed and sent
as they are, see :mod:`api.routes.tiles`) and server-sent event streams
(``text/event-stream`` is in its default exclusions, so each event leaves when it
happens instead of waiting in a compressor's buffer). It compresses bodies of 128 KiB
and more in a worker thread, off the event loop.

Its compressor is the one thing replaced: under load (200 users, issue 12) the standard
library's zlib took a quarter of the API process's CPU, mostly on the 1.3 MB list of
parking lots and the 1.6 MB twin snapshot. zlib-ng (python-zlib-ng, the same deflate
format) at level 4 compresses the lots in 2.7 ms to 72 KB, where zlib took 7.6 ms at
level 6 (68 KB) and 3.2 ms at level 1 (99 KB); a page of 1,000 parcels in 1.7 ms to 58 KB
(zlib-ng at 6: 3.2 ms, 56 KB). Brotli or zstd would need a client that speaks them;
every client speaks gzip.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware, GZipResponder
from starlette.types import Receive, Scope, Send
from zlib_ng import zlib_ng

MINIMUM_SIZE = 1000
"""Bytes under which an answer is sent as it is: it fits one network packet either way."""
LEVEL = 4
"""zlib-ng's level: see the module's docstring for the trade."""
ALREADY_COMPRESSED = ("image/tiff", "application/vnd.apache.parquet")
"""Media types the hub already compresses itself (deflate-compressed GeoTIFFs)."""


def gzip_body(body: bytes) -> bytes:
    """``body`` as the middleware would send it: gzip, zlib-ng at :data:`LEVEL` (for
    answers compressed once and kept, :mod:`api.live_answers`)."""
    return zlib_ng.compress(body, LEVEL, 16 + zlib_ng.MAX_WBITS)


class _ZlibNgResponder(GZipResponder):
    """Starlette's gzip responder with a zlib-ng compressor (same stream, same flushes)."""

    @property
    def compressor(self):  # type: ignore[no-untyped-def]  # Starlette types it as zlib's
        if self._compressor is None:
            self._compressor = zlib_ng.compressobj(
                self.compresslevel, zlib_ng.DEFLATED, 16 + zlib_ng.MAX_WBITS
            )
        return self._compressor


class ZlibNgGZipMiddleware(GZipMiddleware):
    """``GZipMiddleware`` whose gzip answers are compressed by zlib-ng."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gzip through zlib-ng where the client accepts it; otherwise Starlette's own."""
        if scope["type"] == "http" and "gzip" in Headers(scope=scope).get("Accept-Encoding", ""):
            responder = _ZlibNgResponder(
                self.app,
                self.minimum_size,
                compresslevel=self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
            await responder(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def install(app: FastAPI) -> None:
    """Compress the app's answers for clients that send ``Accept-Encoding: gzip``."""
    app.add_middleware(
        ZlibNgGZipMiddleware,
        minimum_size=MINIMUM_SIZE,
        compresslevel=LEVEL,
        exclude_content_types=DEFAULT_EXCLUDED_CONTENT_TYPES + ALREADY_COMPRESSED,
    )
