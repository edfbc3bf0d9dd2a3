-- Sign-in, the embedded default (issue 13): local accounts and API keys, each with one
-- role, their secrets hashed with Argon2id (never stored in clear). Layers say whether
-- anonymous callers may read them.
CREATE TABLE IF NOT EXISTS accounts (
    name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    role          text NOT NULL
                  CHECK (role IN ('viewer', 'planner', 'parking_operator', 'emergency', 'admin')),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      text PRIMARY KEY,
    name        text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    role        text NOT NULL
                CHECK (role IN ('viewer', 'planner', 'parking_operator', 'emergency', 'admin')),
    secret_hash text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
ALTER TABLE layers ADD COLUMN IF NOT EXISTS public boolean NOT NULL DEFAULT false;
