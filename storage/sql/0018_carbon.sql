-- Carbon inventory activity data imported from files (carbon/importer.py): one row per
-- file, refused a second time by its digest, and its consumption rows with their line.
-- Meter readings are not copied here: the inventory reads them from the rollups.
-- No foreign key to assets: a baseline year's rows outlive an asset removed from the twin.
CREATE TABLE IF NOT EXISTS carbon_imports (
    import_id   bigserial PRIMARY KEY,
    file_name   text NOT NULL,
    sha256      text NOT NULL UNIQUE,
    row_count   integer NOT NULL CHECK (row_count > 0),
    imported_at timestamptz NOT NULL DEFAULT now(),
    imported_by text
);

CREATE TABLE IF NOT EXISTS carbon_activity (
    import_id bigint NOT NULL REFERENCES carbon_imports (import_id) ON DELETE CASCADE,
    line      integer NOT NULL,
    asset_id  text NOT NULL,
    carrier   text NOT NULL,
    month     date NOT NULL CHECK (extract(day FROM month) = 1),
    quantity  double precision NOT NULL CHECK (quantity >= 0),
    unit      text NOT NULL,
    sector    text,
    reference text,
    PRIMARY KEY (import_id, line)
);
CREATE INDEX IF NOT EXISTS carbon_activity_month ON carbon_activity (month);
