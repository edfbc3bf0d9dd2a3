-- MQTT broker credentials: one password hash per device or service account. Only the
-- Mosquitto-compatible hash is kept (PBKDF2-SHA512, `$7$` format); the password itself
-- is shown once when issued. A device's credentials go when the device is deleted.
CREATE TABLE IF NOT EXISTS mqtt_credentials (
    username      text PRIMARY KEY,
    device_id     text UNIQUE REFERENCES devices (device_id) ON DELETE CASCADE,
    service       text UNIQUE,
    password_hash text NOT NULL,
    issued_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mqtt_credentials_one_owner CHECK ((device_id IS NULL) <> (service IS NULL))
);
