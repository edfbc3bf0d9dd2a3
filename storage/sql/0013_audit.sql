-- The audit log (audit/): every write through the API and every refused sign-in,
-- hash-chained (audit/chain.py). Ids are dense and given under an advisory lock by the
-- appender (audit/store.py), not by a sequence: a gap means a removed row.
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id    bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    action      text NOT NULL CHECK (action IN ('write', 'sign-in-refused')),
    http_method text NOT NULL,
    route       text NOT NULL,
    outcome     smallint NOT NULL,
    subject     text,
    roles       text[] NOT NULL DEFAULT '{}',
    auth_method text,
    client      text,
    remote_addr text,
    target      jsonb NOT NULL DEFAULT '{}',
    summary     text NOT NULL DEFAULT '',
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject, audit_id);

-- Append-only for everyone, the table's owner and superusers included: a statement
-- trigger refuses UPDATE, DELETE and TRUNCATE. ENABLE ALWAYS keeps it firing under
-- session_replication_role = replica; only ALTER TABLE ... DISABLE TRIGGER (the owner's
-- or a superuser's DDL) gets past it, and the hash chain shows what that changed. Where
-- the API connects with a role of its own, grant it INSERT and SELECT only
-- (docs/audit.md).
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_append_only'
                   AND tgrelid = 'audit_log'::regclass) THEN
        CREATE TRIGGER audit_log_append_only
            BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
    END IF;
END
$$;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
