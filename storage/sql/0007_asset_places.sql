-- Where each municipal asset stands: the cadastral parcel and the urbanism zone that
-- contain it, found by spatial join (twin.places) whenever the twin is synced from
-- its layers, so a re-imported parcels or zones layer is reflected at once.
CREATE TABLE IF NOT EXISTS asset_places (
    asset_id          text PRIMARY KEY REFERENCES assets (asset_id) ON DELETE CASCADE,
    parcel_feature_id integer,
    cadastral_number  text,
    zone_feature_id   integer,
    zone_code         text,
    zone_name         text
);
CREATE INDEX IF NOT EXISTS asset_places_zone ON asset_places (zone_code);
