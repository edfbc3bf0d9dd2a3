"""Where the database is, and how many connections a process may hold to it."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from settings.base import DataSettings


class DatabaseSettings(DataSettings):
    """PostgreSQL: a server URL, or unset for the embedded server in ``data_dir``."""

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://...). Unset: embedded PostgreSQL in data_dir.",
    )
    db_pool_max_size: int = Field(default=8, ge=1, description="API connections to PostgreSQL")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in {"postgresql", "postgres"}:
            raise ValueError(f"SMARTCITY_DATABASE_URL must start with postgresql://, got {value!r}")
        return value or None
