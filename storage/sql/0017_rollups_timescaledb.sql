-- Rollups on TimescaleDB: hierarchical continuous aggregates (5 minutes from the
-- readings, hours from the 5 minutes, days from the hours), with the same columns as
-- the plain-PostgreSQL rollup tables: per device, quantity and bucket the count, sum,
-- min, max and the first and last reading (time and value).
--
-- Materialized only: a query reads the complete buckets and storage/rollups.py adds
-- the newest edge from the finer level or the raw readings itself, the same way on
-- both engines. Created WITH NO DATA (a refresh cannot run inside the migration's
-- transaction); their refresh policies are set from the retention settings by
-- storage.rollups.configure, and `smartcity db rollups --all` materializes an existing
-- history (docs/rollups.md).
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
SELECT device_id, quantity, time_bucket(INTERVAL '5 minutes', time) AS bucket,
       count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max,
       min(time) AS first_time, first(value, time) AS first_value,
       max(time) AS last_time, last(value, time) AS last_value
FROM readings
GROUP BY device_id, quantity, time_bucket(INTERVAL '5 minutes', time)
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
SELECT device_id, quantity, time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       sum(count)::bigint AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
       min(first_time) AS first_time, first(first_value, first_time) AS first_value,
       max(last_time) AS last_time, last(last_value, last_time) AS last_value
FROM readings_5m
GROUP BY device_id, quantity, time_bucket(INTERVAL '1 hour', bucket)
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
SELECT device_id, quantity, time_bucket(INTERVAL '1 day', bucket) AS bucket,
       sum(count)::bigint AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
       min(first_time) AS first_time, first(first_value, first_time) AS first_value,
       max(last_time) AS last_time, last(last_value, last_time) AS last_value
FROM readings_1h
GROUP BY device_id, quantity, time_bucket(INTERVAL '1 day', bucket)
WITH NO DATA;
