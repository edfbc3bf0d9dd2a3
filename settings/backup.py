"""Backups: where PostgreSQL's client tools are (the database and the files come from
the other settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from settings.database import DatabaseSettings
from settings.river import RiverSettings


class BackupSettings(DatabaseSettings, RiverSettings):
    """What ``smartcity backup`` and ``restore`` read: the database, the data directory,
    the river configuration, and the client tools to dump and restore with."""

    pg_bin_dir: Path | None = Field(
        default=None,
        description="folder of pg_dump and pg_restore (of the server's major version or"
        " newer); unset: the embedded server's, /usr/lib/postgresql/N/bin or PATH's",
    )
