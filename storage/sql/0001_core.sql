-- Core tables: hub metadata, GIS layer catalogue and features, assets, device registry,
-- latest values and the ingestion dead-letter store. Idempotent by construction.

CREATE TABLE IF NOT EXISTS hub_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE IF NOT EXISTS layers (
    layer_id      text PRIMARY KEY,
    title         text NOT NULL,
    geometry_type text NOT NULL,
    source_crs    text NOT NULL,
    source_path   text,
    feature_count integer NOT NULL DEFAULT 0,
    bbox_crs84    box,
    bbox_native   box,
    attributes    jsonb NOT NULL DEFAULT '{}'::jsonb,
    imported_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per feature of every vector layer. Geometry is kept twice: GeoJSON in CRS84
-- for serving, WKB in the source CRS (Stereo 70 normally) for metric computations.
-- PostGIS is not required: the bounding box uses PostgreSQL's native box type and GiST.
CREATE TABLE IF NOT EXISTS features (
    layer_id    text    NOT NULL REFERENCES layers (layer_id) ON DELETE CASCADE,
    feature_id  integer NOT NULL,
    properties  jsonb   NOT NULL,
    geometry    jsonb   NOT NULL,
    geom_native bytea   NOT NULL,
    bbox        box     NOT NULL,
    PRIMARY KEY (layer_id, feature_id)
);
CREATE INDEX IF NOT EXISTS features_bbox_gist ON features USING gist (bbox);

CREATE TABLE IF NOT EXISTS assets (
    asset_id   text PRIMARY KEY,
    name       text NOT NULL,
    kind       text NOT NULL,
    lon        double precision NOT NULL,
    lat        double precision NOT NULL,
    properties jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE IF NOT EXISTS devices (
    device_id     text PRIMARY KEY,
    kind          text NOT NULL,
    asset_id      text REFERENCES assets (asset_id) ON DELETE SET NULL,
    quantities    text[] NOT NULL,
    lon           double precision,
    lat           double precision,
    properties    jsonb NOT NULL DEFAULT '{}'::jsonb,
    registered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devices_asset ON devices (asset_id);

CREATE TABLE IF NOT EXISTS latest_readings (
    device_id text NOT NULL,
    quantity  text NOT NULL,
    time      timestamptz NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (device_id, quantity)
);

CREATE TABLE IF NOT EXISTS dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    reason       text NOT NULL,
    record_index integer
);
CREATE INDEX IF NOT EXISTS dead_letters_received ON dead_letters (received_at);
