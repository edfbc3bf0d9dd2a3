-- Vector tiles built by PostGIS (ST_AsMVT), where the server has it: every feature's
-- geometry in Web Mercator, derived from the served GeoJSON whenever a feature is
-- written (no importer change: a generated column), with a GiST index for tile queries.
ALTER TABLE features ADD COLUMN IF NOT EXISTS geom_mercator geometry(Geometry, 3857)
    GENERATED ALWAYS AS (ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4326), 3857))
    STORED;
CREATE INDEX IF NOT EXISTS features_mercator_gist ON features USING gist (geom_mercator);
-- ST_AsMVT leaves nested values out; the few features that have some are marked (and
-- indexed), so that only tiles of layers with some turn them into JSON text.
ALTER TABLE features ADD COLUMN IF NOT EXISTS nested_properties boolean
    GENERATED ALWAYS AS (
        jsonb_path_exists(properties,
                          'strict $.* ? (@.type() == "object" || @.type() == "array")')
    ) STORED;
CREATE INDEX IF NOT EXISTS features_nested ON features (layer_id) WHERE nested_properties;

INSERT INTO hub_meta (key, value) VALUES ('vector_tiles', 'postgis')
ON CONFLICT (key) DO NOTHING;
