"""The HTTP API: its address and access log (it reads the database and the river config)."""

from __future__ import annotations

from pydantic import Field

from settings.auth import AuthSettings
from settings.database import DatabaseSettings
from settings.river import RiverSettings


class ApiSettings(DatabaseSettings, RiverSettings, AuthSettings):
    """Where the API listens; it serves the gauges of the river configuration."""

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    access_log: bool = Field(default=False, description="log every HTTP request of the API")
    keep_alive_s: int = Field(
        default=75,
        ge=1,
        description="how long an idle HTTP connection is kept open: longer than clients"
        " (and proxies in front) keep theirs, or a request sent as the server closes the"
        " connection is reset (uvicorn's default of 5 s reset 4 of 10,000 requests of"
        " users asking every 2-5 s); 75 s is nginx's keepalive_timeout",
    )
