-- Parking operators' decisions (parking/store.py): lot overrides, bays out of service,
-- and the log of every operator action with its values (the audit log keeps who called
-- which route; this keeps what was decided, for the lot's history).
CREATE TABLE IF NOT EXISTS parking_lot_overrides (
    lot_id         text PRIMARY KEY REFERENCES assets (asset_id) ON DELETE CASCADE,
    closed_reason  text,
    closed_since   timestamptz,
    closed_until   timestamptz,
    closed_by      text,
    capacity       integer CHECK (capacity > 0),
    counter_offset integer NOT NULL DEFAULT 0,
    CHECK ((closed_reason IS NULL) = (closed_since IS NULL)),
    CHECK (closed_until IS NULL OR closed_until > closed_since)
);

CREATE TABLE IF NOT EXISTS parking_bay_service (
    bay_id  text PRIMARY KEY,
    lot_id  text NOT NULL REFERENCES assets (asset_id) ON DELETE CASCADE,
    reason  text NOT NULL,
    since   timestamptz NOT NULL,
    until   timestamptz CHECK (until IS NULL OR until > since),
    set_by  text
);
CREATE INDEX IF NOT EXISTS parking_bay_service_lot ON parking_bay_service (lot_id);

CREATE TABLE IF NOT EXISTS parking_actions (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    lot_id  text NOT NULL REFERENCES assets (asset_id) ON DELETE CASCADE,
    bay_id  text,
    action  text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    reason  text,
    by      text
);
CREATE INDEX IF NOT EXISTS parking_actions_lot ON parking_actions (lot_id, at DESC);
