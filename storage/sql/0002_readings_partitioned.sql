-- Readings on plain PostgreSQL: declarative range partitioning by month on time.
-- Monthly partitions are created on demand by storage.partitions before writes.
CREATE TABLE IF NOT EXISTS readings (
    device_id text NOT NULL,
    quantity  text NOT NULL,
    time      timestamptz NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (device_id, quantity, time)
) PARTITION BY RANGE (time);

INSERT INTO hub_meta (key, value) VALUES ('readings_storage', 'partitioned')
ON CONFLICT (key) DO NOTHING;
