-- An empty geometry (the "current" flood extent when nothing is flooded) has no bounding
-- box: NULL, never NaN. A NaN box in the GiST index on bbox hides other features from
-- bbox searches (a town-wide bbox found 4,918 of 4,996 parcels). Features written with
-- one before this are rewritten with NULL, and no box may hold a NaN or an infinity
-- again. Idempotent.
ALTER TABLE features ALTER COLUMN bbox DROP NOT NULL;

-- NaN sorts above every number in PostgreSQL, so "< 'Infinity'" is false for NaN and
-- for both infinities.
CREATE OR REPLACE FUNCTION hub_box_is_finite(b box) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT greatest(abs((b[0])[0]), abs((b[0])[1]), abs((b[1])[0]), abs((b[1])[1]))
             < 'Infinity'::float8 $$;

-- An UPDATE would not do: the old row versions stay in the table until a VACUUM (which
-- cannot run in the migration's transaction), and rebuilding the index in the same
-- transaction indexes them again, NaN and all. TRUNCATE gives the table new storage.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM features WHERE NOT hub_box_is_finite(bbox)) THEN
        CREATE TEMPORARY TABLE features_kept ON COMMIT DROP AS
            SELECT layer_id, feature_id, properties, geometry, geom_native,
                   CASE WHEN hub_box_is_finite(bbox) THEN bbox END AS bbox
            FROM features;
        TRUNCATE features;
        INSERT INTO features (layer_id, feature_id, properties, geometry, geom_native, bbox)
            SELECT layer_id, feature_id, properties, geometry, geom_native, bbox
            FROM features_kept;
        RAISE NOTICE 'features rewritten without NaN bounding boxes';
    END IF;
END $$;
UPDATE layers SET bbox_crs84 = NULL WHERE NOT hub_box_is_finite(bbox_crs84);
UPDATE layers SET bbox_native = NULL WHERE NOT hub_box_is_finite(bbox_native);

ALTER TABLE features DROP CONSTRAINT IF EXISTS features_bbox_finite;
ALTER TABLE features ADD CONSTRAINT features_bbox_finite CHECK (hub_box_is_finite(bbox));
