"""A real TimescaleDB engine for the tests, without a system PostgreSQL.

``timescale_server()`` runs ``tests/timescale/server.mjs``: PGlite (PostgreSQL 17 compiled to
WASM, with TimescaleDB) served over the PostgreSQL wire protocol by pglite-socket. It needs
Node.js and npm; the pinned npm packages are installed with ``npm ci`` on first use. The data
lives in memory and is gone when the server stops.

The server is a single backend: one client at a time, further connections wait until the
active one disconnects, and each client starts from a reset session but sees all committed
data. Any user name, password and database name are accepted (a password must be sent).
``COPY ... FROM STDIN`` crashes it; use multi-row ``INSERT`` or ``executemany``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests import node_server

SERVER_DIR = Path(__file__).resolve().parent / "timescale"


@contextlib.contextmanager
def timescale_server() -> Iterator[str]:
    """Start the TimescaleDB test server on a free loopback port and yield its psycopg URL.

    Raises NodeServerUnavailable if node or npm is missing or ``npm ci`` fails, and
    RuntimeError if the installed server does not start. The server is stopped on exit.
    """
    with tempfile.TemporaryFile("w+") as stderr:
        # Port 0: the server binds a free port itself and reports it, so no race for it.
        process, port = node_server.start(SERVER_DIR / "server.mjs", ["0"], stderr)
        try:
            yield f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres"
        finally:
            node_server.stop(process)
