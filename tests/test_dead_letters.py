"""Dead letters end to end: a real broker, the ingest worker and the API. A bad pack
sent again is counted, an oversize one kept to 256 KiB, pages are cut by payload bytes,
and the worker deletes the letters past their retention."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime, timedelta

import psycopg

from api.app import create_app
from harness.credentials import signed_in
from ingest_mqtt.worker import IngestWorker
from settings import Settings
from storage import dead_letters, migrations
from storage.dead_letters import DeadLetter
from tests.live_ingest import WAIT_S, publish, wait_for

KEEP = 256 * 1024


def test_letters_are_counted_kept_to_256_kib_and_paged_by_size(
    pg_url: str, broker_url: str, settings: Settings, worker: IngestWorker
) -> None:
    topic = f"{settings.topic_prefix}/devices/gauge-tr-magurele/json"
    huge = b"[" + b" " * (300 * 1024) + b"]"
    publish(broker_url, [(topic, b"{not json")] * 3)
    wait_for(lambda: worker.stats.dead_lettered >= 3)
    publish(broker_url, [(topic, huge)])
    wait_for(lambda: worker.stats.dead_lettered >= 4)
    with signed_in(create_app(settings, pg_url), pg_url) as client:
        both = client.get("/ingest/dead-letters").json()
        assert both["number_matched"] == 2 and len(both["dead_letters"]) == 2
        assert both["next"] is None
        first = client.get("/ingest/dead-letters", params={"max_bytes": KEEP}).json()
        assert first["number_matched"] == 2
        [big] = first["dead_letters"]  # newest first; the next would pass max_bytes
        assert big["truncated"] is True
        assert big["payload_bytes"] == len(huge)
        assert base64.b64decode(big["payload_base64"]) == huge[:KEEP]
        assert big["reason"] == f"payload of {len(huge)} bytes exceeds {KEEP}"
        second = client.get(first["next"]).json()
        assert second["number_matched"] == 1 and second["next"] is None
        [bad] = second["dead_letters"]
        assert (bad["count"], bad["payload_text"], bad["truncated"]) == (3, "{not json", False)
        assert bad["first_seen"] <= bad["last_seen"]
        too_small = client.get("/ingest/dead-letters", params={"max_bytes": KEEP - 1})
        assert too_small.status_code == 400


def test_the_worker_deletes_letters_past_their_retention(
    pg_url: str, broker_url: str, settings: Settings
) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        dead_letters.write(
            conn,
            [
                DeadLetter.of("t/old", b"x", "r", now - timedelta(days=8)),
                DeadLetter.of("t/recent", b"x", "r", now - timedelta(days=6)),
            ],
        )
    stop = threading.Event()
    week = settings.model_copy(update={"dead_letter_retention_days": 7})
    running = IngestWorker(week, pg_url, broker_url)
    thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
    thread.start()

    def topics() -> list[str]:
        with psycopg.connect(pg_url) as conn:
            return [r[0] for r in conn.execute("SELECT topic FROM dead_letters")]

    try:
        wait_for(lambda: topics() == ["t/recent"])
    finally:
        stop.set()
        thread.join(WAIT_S)
