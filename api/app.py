"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import Depends, FastAPI

from air import layers as air_layers
from air.alerts import DOMAIN as AIR
from alerts.config import load_webhooks
from alerts.model import events_channel
from api import audit_trail, body_size, compression, cpu, errors, openapi, security
from api.filter_parser import FilterParser
from api.live_answers import LiveAnswers
from api.live_layers import LiveLayers, Refresh
from api.public_url import PublicUrl
from api.rate_limits import RateLimits
from api.refreshed import Refreshed
from api.routes import (
    air,
    air_alerts,
    audit,
    carbon,
    carbon_scenarios,
    collections,
    devices,
    docs,
    guides,
    health,
    ingest,
    landing,
    maps,
    metrics,
    ngsi_ld,
    opendata,
    parking,
    parking_alerts,
    parking_forecast,
    parking_history,
    parking_nearest,
    rasters,
    river,
    sign_in,
    tiles,
    town_map,
    twin,
)
from auth.authenticator import Authenticator
from auth.directory import HeldDirectory
from auth.oidc import verifier_from
from auth.oidc_login import browser_sign_in_from
from auth.tokens import TokenIssuer, signing_key
from carbon import layer as carbon_layer
from carbon.factors import table_from
from demo_town.river import river_config
from parking import layers as parking_layers
from parking.alerts import DOMAIN as PARKING
from parking.history_cache import HistoryCache
from parking.live import LiveLots
from parking.nearest import StreetGraphs
from river_monitor.config import DOMAIN as RIVER
from river_monitor.town_flood import TownFlood
from settings import ApiSettings
from storage.database import async_pool
from storage.notifications import Notifications
from twin.live import LiveTwin

ISSUER = "urn:smartcity-hub"
"""The ``iss`` of the hub's own tokens when no public URL is configured."""


def create_app(settings: ApiSettings, database_url: str) -> FastAPI:
    """Build the API for an already migrated database at ``database_url``."""
    pool = async_pool(database_url, max_size=settings.db_pool_max_size)

    live = LiveTwin(database_url)
    live_lots = LiveLots(database_url)
    notifications = Notifications(
        database_url, [events_channel(RIVER), events_channel(PARKING), events_channel(AIR)]
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        app.state.cpu = cpu.lane()
        app.state.helpers = cpu.Helpers()
        # per event loop: it holds compressions in progress as the loop's tasks
        app.state.live_answers = LiveAnswers(settings.live_answer_reuse_s)
        await live.start()
        await live_lots.start()
        await notifications.start()
        try:
            yield
        finally:
            await notifications.stop()
            await live_lots.stop()
            await live.stop()
            app.state.helpers.shutdown()
            app.state.filter_parser.shutdown()
            await pool.close()

    app = FastAPI(
        title="Smart-city hub",
        version="0.1.0",
        description="IoT hub and digital twin: devices, readings, GIS layers and the town map.",
        lifespan=lifespan,
        dependencies=[Depends(security.authorize)],
        docs_url=None,  # served from the hub's own files: api/routes/docs.py
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.live_twin = live
    app.state.live_lots = live_lots
    app.state.carbon_factors = table_from(settings.carbon_factors_file)
    live_refreshers: dict[str, Refresh] = {
        layer: parking_layers.refresh for layer in parking_layers.LAYERS
    }
    live_refreshers[air_layers.LAYER] = air_layers.refresh
    live_refreshers[carbon_layer.LAYER] = partial(
        carbon_layer.refresh, table=app.state.carbon_factors
    )
    app.state.live_layers = LiveLayers(live_refreshers)
    app.state.notifications = notifications
    app.state.database_url = database_url
    app.state.river = river_config(settings.river_config)
    app.state.parking_webhooks = load_webhooks(settings.parking_webhooks_file)
    app.state.air_webhooks = load_webhooks(settings.air_webhooks_file)
    app.state.flood = TownFlood(app.state.river)
    app.state.street_graphs = StreetGraphs()
    app.state.recent_zones = Refreshed(twin.ZONES_FRESH_S)
    app.state.lot_forecasts = parking_forecast.LotForecasts()
    app.state.history_cache = HistoryCache(int(settings.parking_history_cache_mb * 2**20))
    provider = verifier_from(settings)  # the city's OpenID provider, if configured
    key = signing_key(settings.data_dir / "auth")
    app.state.authenticator = Authenticator(
        HeldDirectory(pool),
        TokenIssuer(key, settings.public_url or ISSUER, settings.token_ttl_s),
        None if provider is None else provider.verify,
    )
    app.state.refused_credentials = audit_trail.RefusedCredentials()
    # browsers sign in with the provider too, where the hub has a client id there
    app.state.browser_sign_in = browser_sign_in_from(settings, provider, key)
    app.state.rate_limits = RateLimits(settings)
    app.state.filter_parser = FilterParser()
    if settings.public_url:
        app.add_middleware(PublicUrl, public_url=settings.public_url)
    compression.install(app)  # before errors' middleware, which streams every answer
    errors.install(app)
    docs.install(app)
    audit_trail.install(app)  # it records the status the client is sent
    # outermost: an oversize body is refused before anything reads it (the audit trail
    # reads a body's start to name its fields)
    body_size.install(app, settings.max_body_bytes)
    for module in (
        sign_in,
        landing,
        guides,
        health,
        collections,
        tiles,
        rasters,
        devices,
        ingest,
        metrics,
        twin,
        parking,
        parking_alerts,
        river,
        parking_nearest,
        parking_forecast,
        parking_history,
        ngsi_ld,
        town_map,
        maps,
        audit,
        carbon,
        carbon_scenarios,
        air,
        air_alerts,
        opendata,
    ):
        app.include_router(module.router)
    if app.state.browser_sign_in is not None:
        app.include_router(sign_in.provider_router)
    security.check_routes(app)
    security.install_openapi(app, settings)
    openapi.install(app)  # after: it adds the problem answers to the document made there
    return app
