"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import cpu, errors
from api.routes import (
    collections,
    devices,
    health,
    ingest,
    landing,
    metrics,
    rasters,
    river,
    tiles,
    town_map,
    twin,
)
from hub.settings import Settings
from river_monitor import config as river_config
from river_monitor.town_flood import TownFlood
from storage.database import async_pool
from twin.live import LiveTwin


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """Build the API for an already migrated database at ``database_url``."""
    pool = async_pool(database_url, max_size=settings.db_pool_max_size)

    live = LiveTwin(database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        app.state.cpu = cpu.lane()
        app.state.helpers = cpu.Helpers()
        await live.start()
        try:
            yield
        finally:
            await live.stop()
            app.state.helpers.shutdown()
            await pool.close()

    app = FastAPI(
        title="Smart-city hub",
        version="0.1.0",
        description="IoT hub and digital twin: devices, readings, GIS layers and the town map.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.live_twin = live
    app.state.database_url = database_url
    app.state.river = river_config.load(settings.river_config)
    app.state.flood = TownFlood(app.state.river)
    errors.install(app)
    for module in (
        landing,
        health,
        collections,
        tiles,
        rasters,
        devices,
        ingest,
        metrics,
        twin,
        river,
        town_map,
    ):
        app.include_router(module.router)
    return app
