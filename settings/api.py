"""The HTTP API: its address and access log, the limits that keep one caller from
starving the rest (it reads the database and the river config)."""

from __future__ import annotations

from typing import Annotated

import limits
from pydantic import AfterValidator, Field

from settings.air import AirAlertSettings
from settings.auth import AuthSettings
from settings.carbon import CarbonSettings
from settings.database import DatabaseSettings
from settings.opendata import OpenDataSettings
from settings.parking import ParkingAlertSettings
from settings.river import RiverSettings


def _rate(text: str) -> str:
    """A rate in the ``limits`` notation (``60/minute``, ``10 per 2 seconds``)."""
    try:
        limits.parse(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a rate: write it as COUNT/PERIOD, e.g. 60/minute or 10/2 seconds"
        ) from None
    return text


Rate = Annotated[str, AfterValidator(_rate)]


class ApiSettings(
    DatabaseSettings,
    RiverSettings,
    ParkingAlertSettings,
    AirAlertSettings,
    AuthSettings,
    CarbonSettings,
    OpenDataSettings,
):
    """Where the API listens; it serves the gauges of the river configuration and the
    parking alerts (whose contact groups it names)."""

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
    rate_limit_heavy: Rate = Field(
        default="60/minute",
        description="heavy requests a client may make, per API process (a past snapshot, a"
        " flood level not asked before, raster previews, windows and statistics, a vector"
        " tile not cached, items with a CQL2 filter or a limit over 1,000, zone summaries"
        " over a given period); a user of the load benchmark makes 2-3 a minute",
    )
    rate_limit_flood_levels: Rate = Field(
        default="10/minute",
        description="flood levels not asked before (about 100 ms of CPU each) a client may"
        " have computed, per API process; a level already asked costs nothing and is free",
    )
    rate_limit_flood_levels_process: Rate = Field(
        default="240/minute",
        description="flood levels not asked before computed by one API process for all its"
        " clients together: at most about 40 % of a core",
    )
    parking_history_cache_mb: float = Field(
        default=64.0,
        ge=0,
        description="memory (MiB) each API process gives the parking histories' past"
        " (complete buckets as JSON, dropped when a late reading or retention changes them;"
        " plain PostgreSQL only): a lot's year by hour takes about 1.8 MiB; 0 computes"
        " every answer whole",
    )
    live_answer_reuse_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="how long the live twin's list of assets and snapshot, and the parking"
        " lots and zones, once made and compressed, are served again while sensor readings"
        " change them (an operator's change or a reload discards them at once; a list of"
        " assets nothing changed since is kept); 0 makes every answer anew",
    )
    max_body_bytes: int = Field(
        default=2**20,
        ge=1024,
        description="largest request body accepted (413 above it, refused before it is read"
        " whole); the API takes small JSON and form bodies only",
    )
