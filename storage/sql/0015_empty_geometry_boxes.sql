-- An empty geometry (the "current" flood extent when nothing is flooded) has no bounding
-- box: NULL, never NaN. NaN boxes written before this break the GiST index on bbox (a
-- town-wide bbox found 4,918 of 4,996 parcels): they become NULL, no box may hold a NaN
-- or an infinity again, and the index is rebuilt where one was found. Idempotent.
ALTER TABLE features ALTER COLUMN bbox DROP NOT NULL;

-- NaN sorts above every number in PostgreSQL, so "< 'Infinity'" is false for NaN and
-- for both infinities.
CREATE OR REPLACE FUNCTION hub_box_is_finite(b box) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT greatest(abs((b[0])[0]), abs((b[0])[1]), abs((b[1])[0]), abs((b[1])[1]))
             < 'Infinity'::float8 $$;

DO $$
DECLARE
    repaired bigint;
BEGIN
    UPDATE features SET bbox = NULL WHERE NOT hub_box_is_finite(bbox);
    GET DIAGNOSTICS repaired = ROW_COUNT;
    IF repaired > 0 THEN
        RAISE NOTICE 'features: % NaN bounding boxes made NULL; rebuilding their index',
            repaired;
        REINDEX INDEX features_bbox_gist;
    END IF;
END $$;
UPDATE layers SET bbox_crs84 = NULL WHERE NOT hub_box_is_finite(bbox_crs84);
UPDATE layers SET bbox_native = NULL WHERE NOT hub_box_is_finite(bbox_native);

ALTER TABLE features DROP CONSTRAINT IF EXISTS features_bbox_finite;
ALTER TABLE features ADD CONSTRAINT features_bbox_finite CHECK (hub_box_is_finite(bbox));
