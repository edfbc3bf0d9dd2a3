-- Dead letters bounded: a payload kept to its first 256 KiB with its original size, a
-- repeated letter counted (count, first_seen, last_seen) under its fingerprint rather
-- than stored again, and an index on last_seen for the retention's deletes. Existing
-- rows are kept: fingerprinted as storage/dead_letters.py does, identical ones merged
-- into one counted row, payloads over 256 KiB cut.

ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS last_seen timestamptz;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS count bigint NOT NULL DEFAULT 1;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_bytes integer;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS fingerprint bytea;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'dead_letters'
                 AND column_name = 'received_at') THEN
        ALTER TABLE dead_letters RENAME COLUMN received_at TO first_seen;
    END IF;
END $$;

UPDATE dead_letters
SET last_seen = coalesce(last_seen, first_seen),
    payload_bytes = octet_length(payload),
    fingerprint = sha256(
        sha256(payload)
        || '\x00'::bytea || convert_to(topic, 'UTF8')
        || '\x00'::bytea || convert_to(reason, 'UTF8')
        || '\x00'::bytea || convert_to(coalesce(record_index::text, ''), 'UTF8'))
WHERE fingerprint IS NULL;

WITH repeated AS (
    SELECT fingerprint, min(id) AS kept, sum(count) AS n,
           min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM dead_letters GROUP BY fingerprint HAVING count(*) > 1
)
UPDATE dead_letters d
SET count = r.n, first_seen = r.first_seen, last_seen = r.last_seen
FROM repeated r WHERE d.id = r.kept;

DELETE FROM dead_letters d USING dead_letters kept
WHERE d.fingerprint = kept.fingerprint AND d.id > kept.id;

UPDATE dead_letters SET payload = substring(payload FROM 1 FOR 262144)
WHERE octet_length(payload) > 262144;

ALTER TABLE dead_letters
    ALTER COLUMN last_seen SET NOT NULL,
    ALTER COLUMN last_seen SET DEFAULT now(),
    ALTER COLUMN payload_bytes SET NOT NULL,
    ALTER COLUMN fingerprint SET NOT NULL;

CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_fingerprint ON dead_letters (fingerprint);
DROP INDEX IF EXISTS dead_letters_received;
CREATE INDEX IF NOT EXISTS dead_letters_last_seen ON dead_letters (last_seen);
