"""What every route of the API requires: one declarative table, read by the API's access
check (:mod:`api.security`) and by its OpenAPI document (each operation's security).

- ``PUBLIC``: anyone, signed in or not (the landing page, the current flood and gauge
  levels, zone aggregates, sign-in itself);
- ``LAYER``: anyone where the layer (collection) is marked public, else a signed-in user
  (the layer's own flag, checked where the layer is looked up; for the nearest parking
  lots, the street layer's);
- ``SIGNED_IN``: any signed-in user, whatever the role (internal data: devices and their
  raw readings, the twin's details, dead letters, metrics);
- a set of roles: a signed-in user with at least one of them (writes; the audit log).

A route the table does not name is refused by the API at start-up, and the test that
walks every route of the OpenAPI document with every role fails: a new route cannot be
open by oversight.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.principal import Role


@dataclass(frozen=True)
class Rule:
    """Who may call a route: anyone (``anonymous``), anyone where a layer is public
    (``layer``), or signed-in users holding one of ``roles`` (any role if empty)."""

    anonymous: bool = False
    layer: bool = False
    roles: frozenset[Role] = frozenset()

    def describe(self) -> str:
        """The rule in words, for the OpenAPI document."""
        if self.anonymous:
            return "public"
        if self.layer:
            return "public for public layers, otherwise any signed-in user"
        if self.roles:
            return "role " + " or ".join(sorted(r.value for r in self.roles))
        return "any signed-in user"


PUBLIC = Rule(anonymous=True)
LAYER = Rule(layer=True)
SIGNED_IN = Rule()


def roles(*allowed: Role) -> Rule:
    """Signed-in users holding one of ``allowed``."""
    return Rule(roles=frozenset(allowed))


POLICY: dict[tuple[str, str], Rule] = {
    # the hub and sign-in
    ("GET", "/"): PUBLIC,
    ("GET", "/conformance"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("POST", "/auth/token"): PUBLIC,
    ("GET", "/auth/login"): PUBLIC,
    ("POST", "/auth/login"): PUBLIC,
    ("POST", "/auth/logout"): PUBLIC,
    ("GET", "/auth/oidc/callback"): PUBLIC,  # where a provider is configured for browsers
    ("GET", "/auth/me"): SIGNED_IN,
    ("GET", "/docs"): PUBLIC,  # the API's pages (their files under /docs/assets are public)
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/guides"): PUBLIC,  # the user guides (docs/) and their screenshots
    ("GET", "/guides/{page}"): PUBLIC,
    ("GET", "/guides/img/{image}"): PUBLIC,
    # layers: OGC API - Features and Tiles
    ("GET", "/collections"): LAYER,
    ("GET", "/collections/{collectionId}"): LAYER,
    ("GET", "/collections/{collectionId}/queryables"): LAYER,
    ("GET", "/collections/{collectionId}/items"): LAYER,
    ("GET", "/collections/{collectionId}/items/{feature_id}"): LAYER,
    ("GET", "/tileMatrixSets"): PUBLIC,
    ("GET", "/tileMatrixSets/{tile_matrix_set_id}"): PUBLIC,
    ("GET", "/collections/{collectionId}/tiles"): LAYER,
    ("GET", "/collections/{collectionId}/tiles/{tile_matrix_set_id}"): LAYER,
    (
        "GET",
        "/collections/{collectionId}/tiles/{tile_matrix_set_id}/{tile_matrix}/{tile_row}/{tile_col}",
    ): LAYER,
    # rasters (the terrain model)
    ("GET", "/rasters"): SIGNED_IN,
    ("GET", "/rasters/{raster_id}"): SIGNED_IN,
    ("GET", "/rasters/{raster_id}/value"): SIGNED_IN,
    ("GET", "/rasters/{raster_id}/stats"): SIGNED_IN,
    ("GET", "/rasters/{raster_id}/window"): SIGNED_IN,
    ("GET", "/rasters/{raster_id}/preview.png"): SIGNED_IN,
    # devices, readings, ingestion, metrics: internal
    ("GET", "/devices"): SIGNED_IN,
    ("GET", "/devices/{device_id}/readings"): SIGNED_IN,
    ("GET", "/ingest/dead-letters"): SIGNED_IN,
    ("GET", "/metrics"): SIGNED_IN,
    # the twin: details internal, zone aggregates public
    ("GET", "/twin/assets"): SIGNED_IN,
    ("GET", "/twin/assets/{asset_id}"): SIGNED_IN,
    ("GET", "/twin/stream"): SIGNED_IN,
    ("GET", "/twin/snapshot"): SIGNED_IN,
    ("GET", "/twin/zones"): PUBLIC,
    # parking: lots and zones public (aggregated occupancy is open data), bays for
    # signed-in users, actions for parking operators
    ("GET", "/parking/lots"): PUBLIC,
    ("GET", "/parking/lots/{lot_id}"): SIGNED_IN,
    ("GET", "/parking/lots/{lot_id}/turnover"): SIGNED_IN,
    ("GET", "/parking/zones"): PUBLIC,
    ("POST", "/parking/lots/{lot_id}/close"): roles(Role.PARKING_OPERATOR),
    ("POST", "/parking/lots/{lot_id}/reopen"): roles(Role.PARKING_OPERATOR),
    ("PUT", "/parking/lots/{lot_id}/capacity"): roles(Role.PARKING_OPERATOR),
    ("POST", "/parking/lots/{lot_id}/counter-correction"): roles(Role.PARKING_OPERATOR),
    ("POST", "/parking/bays/{bay_id}/out-of-service"): roles(Role.PARKING_OPERATOR),
    ("POST", "/parking/bays/{bay_id}/in-service"): roles(Role.PARKING_OPERATOR),
    # FIWARE NGSI-LD (read-only): public as the lots are; a type kept for signed-in
    # users (ParkingSpot: bays, as /parking/lots/{lot_id}) is checked per type by the route
    ("GET", "/ngsi-ld/v1/entities"): PUBLIC,
    ("GET", "/ngsi-ld/v1/entities/{entityId}"): PUBLIC,
    ("GET", "/ngsi-ld/context.jsonld"): PUBLIC,
    # the Danube: levels and the flood public, alerts for signed-in users, acting on
    # them for emergency staff
    ("GET", "/river/gauges"): PUBLIC,
    ("GET", "/river/flood"): PUBLIC,
    ("GET", "/river/flood/depth.tif"): PUBLIC,
    ("GET", "/river/drone-observations"): SIGNED_IN,
    ("GET", "/river/alerts"): SIGNED_IN,
    ("GET", "/river/alerts/{alert_id}"): SIGNED_IN,
    ("POST", "/river/alerts/{alert_id}/ack"): roles(Role.EMERGENCY),
    ("GET", "/river/stream"): SIGNED_IN,
    # parking: the nearest lots with free places, by street, for anyone where the street
    # layer is public (an asset as origin needs sign-in)
    ("GET", "/parking/nearest"): LAYER,
    # carbon: the inventory (per asset, with the fleet's fuel) for signed-in users
    ("GET", "/carbon/inventory"): SIGNED_IN,
    # parking: alerts for signed-in users, acknowledging them for parking operators
    ("GET", "/parking/alerts"): SIGNED_IN,
    ("GET", "/parking/alerts/stream"): SIGNED_IN,
    ("GET", "/parking/alerts/{alert_id}"): SIGNED_IN,
    ("POST", "/parking/alerts/{alert_id}/ack"): roles(Role.PARKING_OPERATOR),
    # parking: forecasts for signed-in users
    ("GET", "/parking/lots/{lot_id}/forecast"): SIGNED_IN,
    # parking: history and utilisation of lots and zones public, as their live figures
    ("GET", "/parking/lots/{lot_id}/history"): PUBLIC,
    ("GET", "/parking/lots/{lot_id}/utilisation"): PUBLIC,
    ("GET", "/parking/zones/{zone}/history"): PUBLIC,
    # the town map (its page, script and data)
    ("GET", "/map"): SIGNED_IN,
    ("GET", "/map/deckgl.js"): PUBLIC,
    ("GET", "/map/mvt-worker.js"): PUBLIC,
    ("GET", "/map/deck.json"): SIGNED_IN,
    # a map for each user group (its page, scripts and data)
    ("GET", "/maps/{map_name}"): SIGNED_IN,
    ("GET", "/maps/{map_name}/deck.json"): SIGNED_IN,
    ("GET", "/maps/scripts/{script}.js"): PUBLIC,
    # the audit log
    ("GET", "/audit"): roles(Role.ADMIN),
    # carbon: reduction scenarios for planners, the cruising estimate for signed-in users
    ("POST", "/carbon/scenarios/compare"): roles(Role.PLANNER),
    ("GET", "/carbon/cruising"): SIGNED_IN,
    # open data: the catalogue and the downloads of published datasets for anyone (an
    # unpublished one is 404), publishing for administrators
    ("GET", "/opendata/catalog.jsonld"): PUBLIC,
    ("GET", "/opendata/catalog.ttl"): PUBLIC,
    ("GET", "/opendata/datasets/{dataset_id}/series.{fmt}"): PUBLIC,
    ("GET", "/opendata/datasets/{dataset_id}/features.{fmt}"): PUBLIC,
    ("GET", "/opendata/datasets/carbon-inventory/inventory.csv"): PUBLIC,
    ("PUT", "/opendata/datasets/{dataset_id}/publication"): roles(Role.ADMIN),
    # air quality: the index, exceedances and zones are open data
    ("GET", "/air/bands"): PUBLIC,
    ("GET", "/air/stations"): PUBLIC,
    ("GET", "/air/stations/{station_id}/history"): PUBLIC,
    ("GET", "/air/exceedances"): PUBLIC,
    ("GET", "/air/zones"): PUBLIC,
    ("GET", "/air/drone-samples"): PUBLIC,
    # air quality: alerts for signed-in users, acknowledging them for emergency staff
    ("GET", "/air/alerts"): SIGNED_IN,
    ("GET", "/air/alerts/stream"): SIGNED_IN,
    ("GET", "/air/alerts/{alert_id}"): SIGNED_IN,
    ("POST", "/air/alerts/{alert_id}/ack"): roles(Role.EMERGENCY),
}


class NoPolicy(LookupError):
    """A route the policy does not name."""


def rule_for(method: str, path: str) -> Rule:
    """The rule of a route (``HEAD`` is ``GET``'s), by its path template."""
    key = ("GET" if method == "HEAD" else method, path)
    try:
        return POLICY[key]
    except KeyError:
        raise NoPolicy(f"no access rule for {key[0]} {path} in auth/policy.py") from None
