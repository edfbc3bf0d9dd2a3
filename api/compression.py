"""Gzip for every answer a client accepts it for, by Starlette's own middleware.

On a real network the bytes, not the server's milliseconds, decide how long a planner
waits: a page of 1,000 parcels is 398 KB of GeoJSON, 53 KB gzip-compressed. Starlette's
``GZipMiddleware`` already leaves alone what must not be compressed here: answers that
carry their own ``Content-Encoding`` (vector tiles are stored gzip-compressed and sent
as they are, see :mod:`api.routes.tiles`) and server-sent event streams
(``text/event-stream`` is in its default exclusions, so each event leaves when it
happens instead of waiting in a compressor's buffer). It compresses bodies of 128 KiB
and more in a worker thread, off the event loop. Brotli or zstd would need a compiled
dependency (brotli-asgi, starlette-cramjam) for a smaller gain; every client speaks gzip.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

MINIMUM_SIZE = 1000
"""Bytes under which an answer is sent as it is: it fits one network packet either way."""
LEVEL = 6
"""zlib's default: a page of 1,000 parcels (398 KB) is 53.2 KB in 14 ms, against 52.6 KB
in 36 ms at Starlette's default of 9."""
ALREADY_COMPRESSED = ("image/tiff",)
"""Media types the hub already compresses itself (deflate-compressed GeoTIFFs)."""


def install(app: FastAPI) -> None:
    """Compress the app's answers for clients that send ``Accept-Encoding: gzip``."""
    app.add_middleware(
        GZipMiddleware,
        minimum_size=MINIMUM_SIZE,
        compresslevel=LEVEL,
        exclude_content_types=DEFAULT_EXCLUDED_CONTENT_TYPES + ALREADY_COMPRESSED,
    )
