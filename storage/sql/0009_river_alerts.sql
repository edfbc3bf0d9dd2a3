-- The Danube monitor's alerts with their lifecycle (raised, escalated, de-escalated,
-- acknowledged, resolved), the full history of each, the notifications owed for each
-- event (an outbox: delivered at least once per channel, in order, retried), and the
-- monitor's place in each gauge's readings.
CREATE TABLE IF NOT EXISTS river_alerts (
    alert_id        bigserial PRIMARY KEY,
    gauge_id        text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('level', 'rise', 'silence', 'spike')),
    severity        smallint NOT NULL CHECK (severity BETWEEN 1 AND 3),
    peak_severity   smallint NOT NULL CHECK (peak_severity BETWEEN 1 AND 3),
    state           text NOT NULL CHECK (state IN ('active', 'acknowledged', 'resolved')),
    raised_at       timestamptz NOT NULL,
    resolved_at     timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    ack_note        text,
    contact_level   smallint NOT NULL DEFAULT 0,
    contact_since   timestamptz NOT NULL,
    reminded_at     timestamptz NOT NULL,
    value           double precision,
    detail          jsonb NOT NULL DEFAULT '{}'
);
-- one open alert per gauge and kind
CREATE UNIQUE INDEX IF NOT EXISTS river_alerts_open
    ON river_alerts (gauge_id, kind) WHERE state <> 'resolved';
CREATE INDEX IF NOT EXISTS river_alerts_raised ON river_alerts (raised_at DESC);

CREATE TABLE IF NOT EXISTS river_alert_events (
    event_id      bigserial PRIMARY KEY,
    alert_id      bigint NOT NULL REFERENCES river_alerts ON DELETE CASCADE,
    action        text NOT NULL CHECK (action IN ('raised', 'escalated', 'de-escalated',
                      'resolved', 'acknowledged', 'reminder', 'contact-escalated')),
    at            timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    document      jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS river_alert_events_alert ON river_alert_events (alert_id, event_id);

CREATE TABLE IF NOT EXISTS river_outbox (
    event_id        bigint NOT NULL REFERENCES river_alert_events ON DELETE CASCADE,
    channel         text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (channel, event_id)
);
CREATE INDEX IF NOT EXISTS river_outbox_pending
    ON river_outbox (channel, event_id) WHERE delivered_at IS NULL;

CREATE TABLE IF NOT EXISTS river_gauge_state (
    gauge_id     text PRIMARY KEY,
    last_time    timestamptz,
    last_arrival timestamptz
);
