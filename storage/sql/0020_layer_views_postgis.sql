-- Every layer as a PostGIS layer, for planners who open the database in QGIS (or any
-- GDAL/OGR client): a view per layer in schema "gis", named by the layer id, with the
-- feature id, one typed column per attribute and "geom", the feature's geometry in the
-- layer's own CRS (Stereo 70 for the town) with its type and SRID declared, so that
-- geometry_columns lists it. A partial GiST index on features, per layer, indexes that
-- exact expression, so bbox queries on the view use it.
--
-- Views rather than copies: they are in step with every writer of features (the
-- importer, the parking and carbon layers' live updates) with no code in any of them.
-- What a view looks like (columns, type, SRID) follows the layers row; a deferred
-- trigger rebuilds it at commit of the transaction that changed the row, so a re-import
-- (DELETE then INSERT of the layers row, in one transaction) swaps the view in that same
-- transaction, and the index on features is only dropped or built at commit (dropping
-- one locks features: a re-import in the same CRS and geometry type keeps its index).
-- Idempotent.
CREATE SCHEMA IF NOT EXISTS gis;

CREATE TABLE IF NOT EXISTS gis_layer_views (
    layer_id   text PRIMARY KEY,
    definition text NOT NULL,
    index_name text NOT NULL
);

-- The SRID of a CRS written as pyproj writes it ("EPSG:3844"); CRS84 is 4326 (PostGIS
-- takes 4326 coordinates as lon/lat); 0 when spatial_ref_sys does not know it.
CREATE OR REPLACE FUNCTION hub_layer_srid(crs text) RETURNS integer
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN upper(crs) IN ('OGC:CRS84', 'EPSG:4326') THEN 4326
                ELSE coalesce((SELECT srid FROM spatial_ref_sys
                               WHERE upper(auth_name) = upper(split_part(crs, ':', 1))
                                 AND auth_srid::text = split_part(crs, ':', 2)
                               ORDER BY srid LIMIT 1), 0)
           END
$$;

-- A feature's geometry as the layer's view declares it: 2D, multi where the layer is,
-- and an empty geometry of that type where it is not of it. Never an error: the same
-- expression indexes features, and an index whose expression failed on a row would
-- refuse the row (a layer re-imported as another type writes rows of the new type
-- while the old index is still there, and the new index is built at commit over the
-- old rows, deleted in the same transaction but still indexed).
CREATE OR REPLACE FUNCTION hub_layer_shape(wkb bytea, srid integer, kind text)
RETURNS geometry
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
-- pg_restore builds indexes with an empty search_path: PostGIS's names must resolve
SET search_path FROM CURRENT
AS $$
DECLARE
    shape geometry := ST_Force2D(ST_GeomFromWKB(wkb, srid));
BEGIN
    IF kind LIKE 'Multi%' THEN
        shape := ST_Multi(shape);
    END IF;
    IF kind <> 'Geometry' AND GeometryType(shape) <> upper(kind) THEN
        RETURN ST_SetSRID(ST_GeomFromText(upper(kind) || ' EMPTY'), srid);
    END IF;
    RETURN shape;
END
$$;

-- The view column's geometry expression for a layer's geometry types (as the importer
-- lists them, "MultiPolygon,Polygon"): polygons and multipolygons mixed become
-- multipolygons (as ogr2ogr -nlt PROMOTE_TO_MULTI does), anything else mixed is Geometry.
CREATE OR REPLACE FUNCTION hub_layer_geometry(types text, srid integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    kinds text[] := string_to_array(types, ',');
    family text;
    target text := 'Geometry';
BEGIN
    FOREACH family IN ARRAY ARRAY['Point', 'LineString', 'Polygon'] LOOP
        IF kinds <@ ARRAY[family, 'Multi' || family] THEN
            target := CASE WHEN cardinality(kinds) = 1 THEN kinds[1] ELSE 'Multi' || family END;
        END IF;
    END LOOP;
    RETURN format('hub_layer_shape(geom_native, %s, %L)::geometry(%s, %s)',
                  srid, target, target, srid);
END
$$;

-- One attribute as a typed column, from the importer's dtype ("int64", "float64",
-- "bool", anything else text); a value of another JSON type reads as NULL, never as an
-- error that would break the whole view.
CREATE OR REPLACE FUNCTION hub_layer_column(name text, dtype text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN dtype ~* '^u?int' THEN format(
            'CASE WHEN jsonb_typeof(properties->%1$L) = ''number'''
            ' THEN (properties->>%1$L)::numeric::bigint END AS %1$I', name)
        WHEN dtype ~* '^float' THEN format(
            'CASE WHEN jsonb_typeof(properties->%1$L) = ''number'''
            ' THEN (properties->>%1$L)::double precision END AS %1$I', name)
        WHEN dtype ~* '^bool' THEN format(
            'CASE WHEN jsonb_typeof(properties->%1$L) = ''boolean'''
            ' THEN (properties->%1$L)::boolean END AS %1$I', name)
        ELSE format('properties->>%1$L AS %1$I', name)
    END
$$;

CREATE OR REPLACE FUNCTION hub_layer_index_name(layer text, geom text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT 'features_gis_' || left(md5(layer || geom), 16) $$;

-- Make gis.<layer> what the layers row says, or drop it when the layer is gone. A layer
-- that cannot be published (an unexpected geometry) is logged, never fails the import.
CREATE OR REPLACE FUNCTION hub_publish_layer(layer text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    row_ layers%ROWTYPE;
    was gis_layer_views%ROWTYPE;
    srid integer;
    geom text;
    columns text;
    definition text;
    index_name text;
BEGIN
    SELECT * INTO was FROM gis_layer_views WHERE layer_id = layer;
    SELECT * INTO row_ FROM layers WHERE layer_id = layer;
    IF NOT FOUND THEN
        IF was.layer_id IS NOT NULL THEN
            EXECUTE format('DROP VIEW IF EXISTS gis.%I', layer);
            EXECUTE format('DROP INDEX IF EXISTS %I', was.index_name);
            DELETE FROM gis_layer_views WHERE layer_id = layer;
        END IF;
        RETURN;
    END IF;
    srid := hub_layer_srid(row_.source_crs);
    geom := hub_layer_geometry(row_.geometry_type, srid);
    SELECT string_agg(hub_layer_column(key, value) || ', ', '' ORDER BY key) INTO columns
    FROM jsonb_each_text(row_.attributes) WHERE key NOT IN ('feature_id', 'geom');
    definition := format(
        'CREATE VIEW gis.%I AS SELECT feature_id, %s%s AS geom FROM features WHERE layer_id = %L',
        layer, coalesce(columns, ''), geom, layer);
    index_name := hub_layer_index_name(layer, geom);
    IF was.definition IS NOT DISTINCT FROM definition
       AND to_regclass(format('gis.%I', layer)) IS NOT NULL THEN
        RETURN;  -- nothing changed (a live update of the parking layers)
    END IF;
    BEGIN
        EXECUTE format('DROP VIEW IF EXISTS gis.%I', layer);
        EXECUTE definition;
        IF was.index_name IS NOT NULL AND was.index_name <> index_name THEN
            EXECUTE format('DROP INDEX IF EXISTS %I', was.index_name);
        END IF;
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON features USING gist ((%s))'
                       ' WHERE layer_id = %L', index_name, geom, layer);
        INSERT INTO gis_layer_views (layer_id, definition, index_name)
        VALUES (layer, definition, index_name)
        ON CONFLICT (layer_id) DO UPDATE
            SET definition = excluded.definition, index_name = excluded.index_name;
        IF srid = 0 THEN
            RAISE WARNING 'layer %: CRS % is not in spatial_ref_sys; gis.% has SRID 0',
                layer, row_.source_crs, layer;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'layer % not published as gis.%: %', layer, layer, SQLERRM;
    END;
END
$$;

CREATE OR REPLACE FUNCTION hub_layer_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM hub_publish_layer(OLD.layer_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.layer_id <> OLD.layer_id) THEN
        PERFORM hub_publish_layer(NEW.layer_id);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS layers_gis_added ON layers;
CREATE CONSTRAINT TRIGGER layers_gis_added AFTER INSERT OR DELETE ON layers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hub_layer_changed();
DROP TRIGGER IF EXISTS layers_gis_changed ON layers;
CREATE CONSTRAINT TRIGGER layers_gis_changed AFTER UPDATE ON layers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.layer_id IS DISTINCT FROM NEW.layer_id
          OR OLD.attributes IS DISTINCT FROM NEW.attributes
          OR OLD.source_crs IS DISTINCT FROM NEW.source_crs
          OR OLD.geometry_type IS DISTINCT FROM NEW.geometry_type)
    EXECUTE FUNCTION hub_layer_changed();

SELECT hub_publish_layer(layer_id) FROM layers;

INSERT INTO hub_meta (key, value) VALUES ('layer_views', 'postgis')
ON CONFLICT (key) DO NOTHING;
