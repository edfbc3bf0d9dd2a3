-- Byte-order ("C") collation for the text keys of readings and latest_readings.
--
-- Under a libc locale (even C.UTF-8 on PostgreSQL 15) every primary-key comparison
-- calls strcoll; with "C" it is a memcmp and the index can use abbreviated keys.
-- Loading rows into readings ran 1.3-1.6 times faster on the same machine
-- (BENCHMARKS.md). Device ids and quantity names are ASCII (the topic contract), so
-- their order is the same either way. On an existing database this rewrites both
-- tables and their indexes once.
ALTER TABLE readings
    ALTER COLUMN device_id TYPE text COLLATE "C",
    ALTER COLUMN quantity TYPE text COLLATE "C";
ALTER TABLE latest_readings
    ALTER COLUMN device_id TYPE text COLLATE "C",
    ALTER COLUMN quantity TYPE text COLLATE "C";
