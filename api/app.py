"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from alerts.model import events_channel
from api import compression, cpu, errors, openapi
from api.filter_parser import FilterParser
from api.refreshed import Refreshed
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
from demo_town.river import river_config
from river_monitor.config import DOMAIN as RIVER
from river_monitor.town_flood import TownFlood
from settings import ApiSettings
from storage.database import async_pool
from storage.notifications import Notifications
from twin.live import LiveTwin


def create_app(settings: ApiSettings, database_url: str) -> FastAPI:
    """Build the API for an already migrated database at ``database_url``."""
    pool = async_pool(database_url, max_size=settings.db_pool_max_size)

    live = LiveTwin(database_url)
    notifications = Notifications(database_url, [events_channel(RIVER)])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        app.state.cpu = cpu.lane()
        app.state.helpers = cpu.Helpers()
        await live.start()
        await notifications.start()
        try:
            yield
        finally:
            await notifications.stop()
            await live.stop()
            app.state.helpers.shutdown()
            app.state.filter_parser.shutdown()
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
    app.state.notifications = notifications
    app.state.database_url = database_url
    app.state.river = river_config(settings.river_config)
    app.state.flood = TownFlood(app.state.river)
    app.state.recent_zones = Refreshed(twin.ZONES_FRESH_S)
    app.state.filter_parser = FilterParser()
    compression.install(app)  # before errors' middleware, which streams every answer
    errors.install(app)
    openapi.install(app)
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
