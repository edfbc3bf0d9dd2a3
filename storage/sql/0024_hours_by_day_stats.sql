-- The hourly rollup packed by day carries each hour's whole bucket but first and last:
-- beside the means (what the air-quality year reads), the counts (int8send), sums, minima
-- and maxima (float8send), in the hours' order. A lot's year of history by hour reads
-- them (parking/history_json.py): 365 rows per quantity instead of 8,760. Not in the
-- primary key's INCLUDE: the air-quality year stays an index-only scan of hours and
-- means; a lot's year fetches its 1,095 rows from the table.
ALTER TABLE readings_1h_days
    ADD COLUMN IF NOT EXISTS counts bytea,
    ADD COLUMN IF NOT EXISTS sums   bytea,
    ADD COLUMN IF NOT EXISTS mins   bytea,
    ADD COLUMN IF NOT EXISTS maxes  bytea;

-- Repacked whole: every column's bytes in one order, the hours'.
DELETE FROM readings_1h_days;
INSERT INTO readings_1h_days (device_id, quantity, day, hours, means, counts, sums, mins, maxes)
SELECT device_id, quantity, date_bin('1 day', bucket, '2000-01-03 00:00:00+00'),
       string_agg(timestamptz_send(bucket), '' ORDER BY bucket),
       string_agg(float8send(sum / count), '' ORDER BY bucket),
       string_agg(int8send(count), '' ORDER BY bucket),
       string_agg(float8send(sum), '' ORDER BY bucket),
       string_agg(float8send(min), '' ORDER BY bucket),
       string_agg(float8send(max), '' ORDER BY bucket)
FROM readings_1h
WHERE bucket < (SELECT max(bucket) + interval '1 day' FROM readings_1d)
  AND EXISTS (SELECT FROM hub_meta WHERE key = 'readings_storage' AND value = 'partitioned')
GROUP BY 1, 2, 3;

ALTER TABLE readings_1h_days
    ALTER COLUMN counts SET NOT NULL,
    ALTER COLUMN sums SET NOT NULL,
    ALTER COLUMN mins SET NOT NULL,
    ALTER COLUMN maxes SET NOT NULL;
