-- Drone samples are asked by time range over every drone (GET /air/drone-samples,
-- air/drone_samples.py): the primary key (drone_id, time) serves one drone's range only.
-- A drone reports a position every few seconds, so a second B-tree costs its writer
-- next to nothing.
CREATE INDEX IF NOT EXISTS drone_track_time ON drone_track (time);
