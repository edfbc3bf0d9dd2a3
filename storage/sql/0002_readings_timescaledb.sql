-- Readings on TimescaleDB: the same table as a hypertable chunked by week on time.
CREATE TABLE IF NOT EXISTS readings (
    device_id text NOT NULL,
    quantity  text NOT NULL,
    time      timestamptz NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (device_id, quantity, time)
);
SELECT create_hypertable('readings', 'time', chunk_time_interval => INTERVAL '7 days',
                         if_not_exists => TRUE);

INSERT INTO hub_meta (key, value) VALUES ('readings_storage', 'timescaledb')
ON CONFLICT (key) DO NOTHING;
