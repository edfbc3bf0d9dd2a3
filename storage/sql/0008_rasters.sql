-- The raster catalogue: terrain models, drone orthomosaics. The cells stay in their
-- GeoTIFF (read by window with rasterio); the catalogue keeps where it is and what it is.
CREATE TABLE IF NOT EXISTS rasters (
    raster_id   text PRIMARY KEY,
    title       text NOT NULL,
    path        text NOT NULL,
    crs         text NOT NULL,
    width       integer NOT NULL,
    height      integer NOT NULL,
    bands       integer NOT NULL,
    dtype       text NOT NULL,
    nodata      double precision,
    resolution  double precision[] NOT NULL,
    bbox_native box NOT NULL,
    bbox_crs84  box NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
