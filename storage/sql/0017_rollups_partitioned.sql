-- Rollups on plain PostgreSQL: tables maintained from the readings as they are committed.
--
-- readings_5m, readings_1h and readings_1d hold, per device, quantity and bucket, the
-- count, sum, min, max and the first and last reading (time and value) of the bucket;
-- buckets are aligned on 2000-01-03 00:00 UTC like TimescaleDB's time_bucket. The
-- writer records each 5-minute bucket a batch touched in rollup_invalidations
-- (append-only, so that concurrent writers never wait on each other), and
-- storage/rollups.py recomputes the invalidated buckets, level by level, once they are
-- complete. docs/rollups.md explains why.
CREATE TABLE IF NOT EXISTS readings_5m (
    device_id   text COLLATE "C" NOT NULL,
    quantity    text COLLATE "C" NOT NULL,
    bucket      timestamptz NOT NULL,
    count       bigint NOT NULL,
    sum         double precision NOT NULL,
    min         double precision NOT NULL,
    max         double precision NOT NULL,
    first_time  timestamptz NOT NULL,
    first_value double precision NOT NULL,
    last_time   timestamptz NOT NULL,
    last_value  double precision NOT NULL,
    PRIMARY KEY (device_id, quantity, bucket)
);
-- the refresh reads a finer level by bucket range, and retention deletes by bucket
CREATE INDEX IF NOT EXISTS readings_5m_bucket ON readings_5m (bucket);
-- The same columns (LIKE copies NOT NULL and the "C" collation). The keys of the hours
-- and days cover every column: a device's year by hour is then an index-only scan (8 ms instead of 39 ms for 8,760
-- hours, whose rows lie one per heap page among the other devices'). The 5-minute
-- level, as large as the readings and read over short ranges, is not doubled so.
CREATE TABLE IF NOT EXISTS readings_1h (
    LIKE readings_5m,
    PRIMARY KEY (device_id, quantity, bucket)
        INCLUDE (count, sum, min, max, first_time, first_value, last_time, last_value)
);
CREATE TABLE IF NOT EXISTS readings_1d (
    LIKE readings_1h,
    PRIMARY KEY (device_id, quantity, bucket)
        INCLUDE (count, sum, min, max, first_time, first_value, last_time, last_value)
);
CREATE INDEX IF NOT EXISTS readings_1h_bucket ON readings_1h (bucket);
CREATE INDEX IF NOT EXISTS readings_1d_bucket ON readings_1d (bucket);

-- The refresh reads raw readings by time range. BRIN: readings arrive nearly in time
-- order, and a BRIN index costs the writer next to nothing (a B-tree on time would be
-- a second B-tree insert per reading).
CREATE INDEX IF NOT EXISTS readings_time_brin ON readings USING brin (time)
    WITH (autosummarize = on);

CREATE TABLE IF NOT EXISTS rollup_invalidations (
    level  text NOT NULL CHECK (level IN ('5m', '1h', '1d')),
    bucket timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS rollup_invalidations_level_bucket
    ON rollup_invalidations (level, bucket);

-- Existing readings: the complete buckets are rolled up now, the current one is left
-- to the first refresh.
INSERT INTO readings_5m
SELECT device_id, quantity, date_bin('5 minutes', time, '2000-01-03 00:00:00+00') AS b,
       count(*), sum(value), min(value), max(value),
       min(time), (array_agg(value ORDER BY time))[1],
       max(time), (array_agg(value ORDER BY time DESC))[1]
FROM readings
WHERE time < date_bin('5 minutes', now(), '2000-01-03 00:00:00+00')
GROUP BY device_id, quantity, b
ON CONFLICT DO NOTHING;

INSERT INTO readings_1h
SELECT device_id, quantity, date_bin('1 hour', bucket, '2000-01-03 00:00:00+00') AS b,
       sum(count), sum(sum), min(min), max(max),
       min(first_time), (array_agg(first_value ORDER BY first_time))[1],
       max(last_time), (array_agg(last_value ORDER BY last_time DESC))[1]
FROM readings_5m
WHERE bucket < date_bin('1 hour', now(), '2000-01-03 00:00:00+00')
GROUP BY device_id, quantity, b
ON CONFLICT DO NOTHING;

INSERT INTO readings_1d
SELECT device_id, quantity, date_bin('1 day', bucket, '2000-01-03 00:00:00+00') AS b,
       sum(count), sum(sum), min(min), max(max),
       min(first_time), (array_agg(first_value ORDER BY first_time))[1],
       max(last_time), (array_agg(last_value ORDER BY last_time DESC))[1]
FROM readings_1h
WHERE bucket < date_bin('1 day', now(), '2000-01-03 00:00:00+00')
GROUP BY device_id, quantity, b
ON CONFLICT DO NOTHING;

INSERT INTO rollup_invalidations (level, bucket)
SELECT DISTINCT '5m', date_bin('5 minutes', time, '2000-01-03 00:00:00+00')
FROM readings WHERE time >= date_bin('5 minutes', now(), '2000-01-03 00:00:00+00');

INSERT INTO rollup_invalidations (level, bucket)
SELECT DISTINCT '1h', date_bin('1 hour', bucket, '2000-01-03 00:00:00+00')
FROM readings_5m WHERE bucket >= date_bin('1 hour', now(), '2000-01-03 00:00:00+00');

INSERT INTO rollup_invalidations (level, bucket)
SELECT DISTINCT '1d', date_bin('1 day', bucket, '2000-01-03 00:00:00+00')
FROM readings_1h WHERE bucket >= date_bin('1 day', now(), '2000-01-03 00:00:00+00');
