"""Build the twin's asset list and the device registry from imported layers.

An ``assets`` layer (points with ``asset_id``, ``name``, ``kind``) and a ``sensors``
layer (points with ``device_id``, ``kind``, ``asset_id``, comma-separated
``quantities``) are the contract: the demo town ships them, and a town importing its
own files gets its twin the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from twin import places

_SYNC_ASSETS = """
INSERT INTO assets (asset_id, name, kind, lon, lat, properties)
SELECT properties->>'asset_id', coalesce(properties->>'name', properties->>'asset_id'),
       properties->>'kind',
       (ST.lon)::float8, (ST.lat)::float8, properties
FROM features,
     LATERAL (SELECT geometry->'coordinates'->>0 AS lon, geometry->'coordinates'->>1 AS lat) ST
WHERE layer_id = %(layer)s AND geometry->>'type' = 'Point'
  AND properties->>'asset_id' IS NOT NULL AND properties->>'kind' IS NOT NULL
ON CONFLICT (asset_id) DO UPDATE
SET name = excluded.name, kind = excluded.kind, lon = excluded.lon, lat = excluded.lat,
    properties = excluded.properties
"""

_SYNC_DEVICES = """
INSERT INTO devices (device_id, kind, asset_id, quantities, lon, lat, properties)
SELECT properties->>'device_id', properties->>'kind',
       (SELECT asset_id FROM assets WHERE asset_id = features.properties->>'asset_id'),
       string_to_array(replace(properties->>'quantities', ' ', ''), ','),
       (geometry->'coordinates'->>0)::float8, (geometry->'coordinates'->>1)::float8,
       properties
FROM features
WHERE layer_id = %(layer)s AND geometry->>'type' = 'Point'
  AND properties->>'device_id' IS NOT NULL AND properties->>'kind' IS NOT NULL
  AND coalesce(properties->>'quantities', '') <> ''
ON CONFLICT (device_id) DO UPDATE
SET kind = excluded.kind, asset_id = excluded.asset_id, quantities = excluded.quantities,
    lon = excluded.lon, lat = excluded.lat, properties = excluded.properties
"""


TWIN_CHANNEL = "twin_changed"
"""Notified when a sync commits: the API's live twin re-reads every asset."""


@dataclass(frozen=True)
class SyncResult:
    """How many assets and devices the sync wrote, and how many assets have a place."""

    assets: int
    devices: int
    placed: int = 0


def sync_from_layers(
    conn: psycopg.Connection, assets_layer: str = "assets", sensors_layer: str = "sensors"
) -> SyncResult:
    """Upsert assets and devices from the named layers and relate every asset to its
    parcel and zone (:mod:`twin.places`), in one transaction."""
    with conn.transaction():
        assets = conn.execute(_SYNC_ASSETS, {"layer": assets_layer}).rowcount
        devices = conn.execute(_SYNC_DEVICES, {"layer": sensors_layer}).rowcount
        placed = places.refresh(conn)
        conn.execute("SELECT pg_notify(%s, '')", (TWIN_CHANNEL,))
    return SyncResult(assets=assets, devices=devices, placed=placed)
