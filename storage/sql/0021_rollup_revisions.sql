-- Rollup buckets changed after they were complete: recomputed for a late reading, or
-- deleted by retention (plain PostgreSQL; storage/rollup_revisions.py). A process that
-- keeps answers built from complete buckets (the parking history's cache) reads the
-- rows newer than the last it saw and drops what they overlap. Ids follow commit
-- order: rows are written under the rollup refresh's advisory lock.
CREATE TABLE IF NOT EXISTS rollup_revisions (
    id         bigserial PRIMARY KEY,
    level      text NOT NULL CHECK (level IN ('5m', '1h', '1d')),
    low        timestamptz NOT NULL,
    high       timestamptz NOT NULL,
    revised_at timestamptz NOT NULL DEFAULT now()
);
