"""The HTTP API: its address and access log (it reads the database and the river config)."""

from __future__ import annotations

from pydantic import Field

from settings.database import DatabaseSettings
from settings.river import RiverSettings


class ApiSettings(DatabaseSettings, RiverSettings):
    """Where the API listens; it serves the gauges of the river configuration."""

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    access_log: bool = Field(default=False, description="log every HTTP request of the API")
