-- Open data: which of the hub's datasets an administrator published (opendata/).
-- A dataset without a row keeps its default (opendata/datasets.py); a layer's own
-- public flag (layers.public) decides for layers, so there is one switch per layer.
CREATE TABLE IF NOT EXISTS opendata_publication (
    dataset_id text PRIMARY KEY,
    public     boolean NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text
);
