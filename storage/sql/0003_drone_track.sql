-- Positions of mobile sensors (drones): one point per drone and time. A drone's
-- observations are readings at the same times, so each keeps its position by a join.
CREATE TABLE IF NOT EXISTS drone_track (
    drone_id text NOT NULL,
    time     timestamptz NOT NULL,
    lon      double precision NOT NULL,
    lat      double precision NOT NULL,
    alt      double precision,
    PRIMARY KEY (drone_id, time)
);
