-- The alert engine's tables, shared by every domain (river, parking, air quality): alerts
-- with their lifecycle, the full history of each, and the notifications owed for each
-- event (an outbox: delivered at least once per domain and channel, in order, retried).
-- They replace the river monitor's own tables of 0009, whose rows are moved here with
-- their ids: an event's id is its documents' idempotency key, so numbering goes on.
CREATE TABLE IF NOT EXISTS alerts (
    alert_id        bigserial PRIMARY KEY,
    domain          text NOT NULL,
    subject_id      text NOT NULL,
    kind            text NOT NULL,
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
    detail          jsonb NOT NULL DEFAULT '{}',
    message         text NOT NULL DEFAULT ''
);
-- one open alert per condition: domain, subject and kind
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open
    ON alerts (domain, subject_id, kind) WHERE state <> 'resolved';
CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (domain, raised_at DESC);

CREATE TABLE IF NOT EXISTS alert_events (
    event_id      bigserial PRIMARY KEY,
    alert_id      bigint NOT NULL REFERENCES alerts ON DELETE CASCADE,
    action        text NOT NULL CHECK (action IN ('raised', 'escalated', 'de-escalated',
                      'resolved', 'acknowledged', 'reminder', 'contact-escalated')),
    at            timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    document      jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events (alert_id, event_id);

CREATE TABLE IF NOT EXISTS alert_outbox (
    domain          text NOT NULL,
    event_id        bigint NOT NULL REFERENCES alert_events ON DELETE CASCADE,
    channel         text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (domain, channel, event_id)
);
CREATE INDEX IF NOT EXISTS alert_outbox_pending
    ON alert_outbox (domain, channel, event_id) WHERE delivered_at IS NULL;

DO $$
BEGIN
    IF to_regclass('river_alerts') IS NOT NULL THEN
        INSERT INTO alerts (alert_id, domain, subject_id, kind, severity, peak_severity,
                            state, raised_at, resolved_at, acknowledged_at, acknowledged_by,
                            ack_note, contact_level, contact_since, reminded_at, value, detail)
        SELECT alert_id, 'river', gauge_id, kind, severity, peak_severity, state, raised_at,
               resolved_at, acknowledged_at, acknowledged_by, ack_note, contact_level,
               contact_since, reminded_at, value, detail
        FROM river_alerts;
        INSERT INTO alert_events (event_id, alert_id, action, at, recorded_at, document)
        SELECT event_id, alert_id, action, at, recorded_at, document FROM river_alert_events;
        INSERT INTO alert_outbox (domain, event_id, channel, attempts, next_attempt_at,
                                  delivered_at, last_error)
        SELECT 'river', event_id, channel, attempts, next_attempt_at, delivered_at, last_error
        FROM river_outbox;
        PERFORM setval('alerts_alert_id_seq', max(alert_id)) FROM alerts
            HAVING max(alert_id) IS NOT NULL;
        PERFORM setval('alert_events_event_id_seq', max(event_id)) FROM alert_events
            HAVING max(event_id) IS NOT NULL;
        DROP TABLE river_outbox, river_alert_events, river_alerts;
    END IF;
END
$$;
