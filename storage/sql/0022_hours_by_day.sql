-- The hourly rollup packed by day: per device, quantity and UTC day,
-- the day's hours and their means as binary arrays (timestamptz_send and float8send,
-- one after the other, in the same order; an hour without readings is absent). A year
-- of one series is 365 rows instead of 8,760: what reads many series' years at once
-- (the air-quality year of every station, air/hourly_grid.py) reads these and unpacks
-- them with numpy. Kept by storage/rollups.py with the daily level, from the same
-- hours, in the same transaction; its watermark is the daily level's. On TimescaleDB,
-- whose policies refresh the continuous aggregates and know nothing of this table, it
-- stays empty: its watermark is none and readers take the hours from readings_1h.
CREATE TABLE IF NOT EXISTS readings_1h_days (
    device_id text COLLATE "C" NOT NULL,
    quantity  text COLLATE "C" NOT NULL,
    day       timestamptz NOT NULL,
    hours     bytea NOT NULL,
    means     bytea NOT NULL,
    -- covering: a series' year is an index-only range scan
    PRIMARY KEY (device_id, quantity, day) INCLUDE (hours, means)
);
CREATE INDEX IF NOT EXISTS readings_1h_days_day ON readings_1h_days (day);

INSERT INTO readings_1h_days
SELECT device_id, quantity, date_bin('1 day', bucket, '2000-01-03 00:00:00+00'),
       string_agg(timestamptz_send(bucket), ''), string_agg(float8send(sum / count), '')
FROM readings_1h
WHERE bucket < (SELECT max(bucket) + interval '1 day' FROM readings_1d)
  AND EXISTS (SELECT FROM hub_meta WHERE key = 'readings_storage' AND value = 'partitioned')
GROUP BY 1, 2, 3
ON CONFLICT DO NOTHING;
