"""A reading published over real MQTT is stored in real PostgreSQL and served by the API."""

from __future__ import annotations

import json
import queue
import threading
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from api.app import create_app
from auth.principal import Role
from harness.credentials import key_headers, signed_in
from harness.live import live_server
from ingest_mqtt.worker import IngestWorker
from settings import Settings
from storage import devices, migrations
from tests.live_ingest import WAIT_S, publish, wait_for


def test_published_reading_is_queryable_through_the_api(
    worker: IngestWorker, pg_url: str, broker_url: str, settings: Settings
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    prefix = settings.topic_prefix
    good = [
        (
            f"{prefix}/devices/gauge-tr-magurele/json",
            json.dumps(
                {
                    "time": (now - timedelta(minutes=m)).isoformat(),
                    "values": {"water_level": 300 + m},
                }
            ).encode(),
        )
        for m in range(5)
    ]
    bad = [
        (f"{prefix}/devices/gauge-tr-magurele/json", b"{not json"),
        (f"{prefix}/devices/unknown-device/json", b'{"values": {"water_level": 1}}'),
    ]
    publish(broker_url, good + bad + good[:2])  # the last two are duplicates
    wait_for(lambda: worker.stats.stored >= len(good) and worker.stats.dead_lettered >= 2)

    app = create_app(settings, pg_url)
    with signed_in(app, pg_url) as client:
        # the worker's figures reach the API's /metrics (it reports every 5 s)
        stored = f'smartcity_ingest_stored_readings_total{{worker="{settings.ingest_client_id}"}}'
        wait_for(lambda: f"{stored} 5.0" in client.get("/metrics").text, timeout=15)
        exposition = client.get("/metrics")
        assert exposition.headers["content-type"].startswith("text/plain")
        for sample in (
            "smartcity_ingest_duplicate_readings_total",
            "smartcity_ingest_dead_letters_total",
            "smartcity_ingest_spool_bytes",
            "smartcity_ingest_commit_seconds_bucket",
            "smartcity_ingest_batch_messages_count",
            "smartcity_ingest_report_age_seconds",
        ):
            assert f"{sample}{{" in exposition.text, sample
        dup = f'smartcity_ingest_duplicate_readings_total{{worker="{settings.ingest_client_id}"}}'
        assert f"{dup} 2.0" in exposition.text
        listed = client.get("/devices").json()
        gauge = next(d for d in listed["devices"] if d["device_id"] == "gauge-tr-magurele")
        assert gauge["quantities"] == ["water_level"]
        assert gauge["latest"]["water_level"]["value"] == 300.0
        series = client.get(
            "/devices/gauge-tr-magurele/readings",
            params={
                "quantity": "water_level",
                "start": (now - timedelta(hours=1)).isoformat(),
                "end": (now + timedelta(seconds=1)).isoformat(),
            },
        )
        assert series.status_code == 200
        assert [r["value"] for r in series.json()["readings"]] == [
            304.0,
            303.0,
            302.0,
            301.0,
            300.0,
        ]
        wrong = client.get("/devices/gauge-tr-magurele/readings", params={"quantity": "pm25"})
        assert wrong.status_code == 400
        assert wrong.headers["content-type"] == "application/problem+json"
        assert client.get("/devices/nope/readings", params={"quantity": "x"}).status_code == 404
        letters = client.get("/ingest/dead-letters").json()
        assert letters["number_matched"] == 2
        by_topic = {d["topic"].rsplit("/", 2)[1]: d for d in letters["dead_letters"]}
        assert by_topic["unknown-device"]["reason"] == (
            "unknown device 'unknown-device': not in the registry"
        )
        assert by_topic["gauge-tr-magurele"]["payload_text"] == "{not json"
        assert by_topic["gauge-tr-magurele"]["reason"].startswith("malformed JSON")
        only = client.get("/ingest/dead-letters", params={"topic": f"{prefix}/devices/unknown"})
        assert only.json()["number_matched"] == 1
    with psycopg.connect(pg_url) as conn:
        reasons = sorted(r[0] for r in conn.execute("SELECT reason FROM dead_letters"))
    assert reasons[0].startswith("malformed JSON")
    assert reasons[1] == "unknown device 'unknown-device': not in the registry"


def test_unacknowledged_messages_are_redelivered_after_restart(
    pg_url: str, broker_url: str, settings: Settings
) -> None:
    """Messages sent while the worker is away are queued by the broker (persistent session)."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        devices.register(conn, [devices.Device("bay-1", "parking_bay", ("occupied",))])
    stop = threading.Event()
    first = IngestWorker(settings, pg_url, broker_url)
    thread = threading.Thread(target=first.run, args=(stop,), daemon=True)
    thread.start()
    assert first.subscribed.wait(WAIT_S)
    stop.set()
    thread.join(WAIT_S)

    base = datetime(2026, 5, 1, tzinfo=UTC)
    publish(
        broker_url,
        [
            (
                f"{settings.topic_prefix}/devices/bay-1/json",
                json.dumps(
                    {
                        "time": (base + timedelta(minutes=i)).isoformat(),
                        "values": {"occupied": i % 2},
                    }
                ).encode(),
            )
            for i in range(50)
        ],
    )
    stop = threading.Event()
    second = IngestWorker(settings, pg_url, broker_url)
    thread = threading.Thread(target=second.run, args=(stop,), daemon=True)
    thread.start()
    try:

        def stored() -> int:
            with psycopg.connect(pg_url) as conn:
                return conn.execute("SELECT count(*) FROM readings").fetchone()[0]

        wait_for(lambda: stored() == 50)
    finally:
        stop.set()
        thread.join(WAIT_S)


def test_a_reading_that_changes_an_asset_reaches_twin_stream_subscribers(
    worker: IngestWorker, pg_url: str, broker_url: str, settings: Settings
) -> None:
    """MQTT in, committed by the worker, out as a server-sent event of the asset's state."""
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "INSERT INTO assets (asset_id, name, kind, lon, lat)"
            " VALUES ('gauge-site', 'Tr. Măgurele gauge', 'river_gauge', 24.87, 43.75)"
        )
        conn.execute("UPDATE devices SET asset_id = 'gauge-site' WHERE kind = 'river_gauge'")
    events: queue.Queue[tuple[str, dict]] = queue.Queue()

    viewer = key_headers(pg_url, Role.VIEWER)

    def listen(url: str) -> None:
        with httpx.stream("GET", f"{url}/twin/stream", timeout=WAIT_S, headers=viewer) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    events.put((kind, json.loads(line.removeprefix("data: "))))
                    if kind == "asset":
                        return

    with live_server(create_app(settings, pg_url)) as url:
        threading.Thread(target=listen, args=(url,), daemon=True).start()
        assert events.get(timeout=WAIT_S) == ("ready", {"assets": 1})
        reading = {"time": datetime.now(UTC).isoformat(), "values": {"water_level": 512}}
        topic = f"{settings.topic_prefix}/devices/gauge-tr-magurele/json"
        publish(broker_url, [(topic, json.dumps(reading).encode())])
        kind, asset = events.get(timeout=WAIT_S)
    assert kind == "asset" and asset["asset_id"] == "gauge-site"
    assert asset["values"] == {"gauge-tr-magurele": {"water_level": 512.0}}
    assert asset["status"]["label"].startswith("Danube 512 cm")
