-- What each ingestion worker last reported of its Prometheus metrics, so that the API's
-- /metrics shows every worker, wherever it runs, from one scrape target.
CREATE TABLE IF NOT EXISTS ingest_workers (
    client_id   text PRIMARY KEY,
    reported_at timestamptz NOT NULL,
    metrics     jsonb NOT NULL
);
