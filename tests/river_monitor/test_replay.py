"""A spring flood replayed over real MQTT, through ingestion, into the Danube monitor.

The hydrograph (3-hourly readings, as INHGA reads during floods) rises through the
three thresholds, hovers at the attention level on the way up, carries one impossible
spike, peaks at 668 cm and recedes. Expected: one level alert, raised, escalated and
de-escalated at the readings that cross each threshold (10 cm hysteresis on the way
down), acknowledged once and re-opened by the escalation that follows, resolved; the
spike flagged; the gauge's silence raised and cleared. Every event reaches an MQTT
subscriber, and a webhook receiver that is down for the first part receives every
event once it is up, each once, correctly signed.

On a busy machine every step takes longer, so the test waits on conditions, never on
time, with generous deadlines: the gauge falls silent 9 s after its last reading, and
may well do so between the two limbs of the flood while the staff acknowledge (that is
an alert too, which the test accepts); and the events are compared once the last one
has happened (the gauge silent again after its last reading: nothing can follow).
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from standardwebhooks import Webhook as Verifier

from api.app import create_app
from auth.principal import Role
from harness.credentials import signed_in
from hub.broker import free_port
from ingest_mqtt.worker import IngestWorker
from river_monitor import service
from river_monitor.config import load
from settings import Settings
from tests.live_ingest import publish, wait_for

DEADLINE_S = 120.0
"""For each wait: far beyond a quiet machine's seconds, so that only a hang fails."""
GAUGE = "gauge-tr-magurele"
STEP = timedelta(hours=3)
RISE = [380.0, 420, 460, 490, 497, 503, 498, 501, 496, 504, 499, 520, 545, 556]
FALL = [590.0, 950, 630, 660, 668, 655, 644, 630, 600, 560, 545, 530, 510, 495, 491, 489, 470]
# index in RISE + FALL of the reading each level event should date from
EXPECTED_LEVEL = [
    ("raised", 1, 5),  # 503: attention reached (497 was not)
    ("escalated", 2, 13),  # 556
    ("acknowledged", 2, None),
    ("escalated", 3, 17),  # 660 (the 950 spike is not obeyed)
    ("de-escalated", 2, 21),  # 630: 655 and 644 are within 10 cm of 650
    ("de-escalated", 1, 25),  # 530: 545 is within 10 cm of 550
    ("resolved", 1, 29),  # 489: below 490
]
SECRET = "whsec_" + base64.b64encode(b"turnu-magurele-duty-officer-key!").decode()


class _Receiver(BaseHTTPRequestHandler):
    received: queue.Queue[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.put(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def river(
    worker: IngestWorker, pg_url: str, broker_url: str, settings: Settings, tmp_path: Path
) -> Iterator[tuple[Settings, int]]:
    """The river service on the test's database and broker; a webhook on a port where
    nothing listens yet."""
    port = free_port()
    config = tmp_path / "river.toml"
    config.write_text(
        f"""
[[gauges]]
device_id = "{GAUGE}"
name = "Tr. Măgurele (Dunăre)"
zero_m = 19.5
attention_cm = 500
flood_cm = 550
danger_cm = 650
rise_cm_per_h = 40
silence_after_min = 0.15
ack_timeout_min = 30
contacts = ["duty-officer", "clsu"]

[[webhooks]]
name = "duty"
url = "http://127.0.0.1:{port}/hook"
secret = "{SECRET}"
contacts = ["duty-officer"]
""",
        encoding="utf-8",
    )
    river_settings = settings.model_copy(
        update={"river_config": config, "river_tick_s": 0.2, "river_retry_max_s": 1.0}
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=service.run,
        args=(river_settings, load(config), pg_url, broker_url, stop),
        daemon=True,
    )
    thread.start()
    with psycopg.connect(pg_url, autocommit=True) as conn:  # the monitor has its place
        query = "SELECT 1 FROM river_gauge_state WHERE gauge_id = %s"
        wait_for(lambda: conn.execute(query, (GAUGE,)).fetchone() is not None, DEADLINE_S)
    yield river_settings, port
    stop.set()
    thread.join(DEADLINE_S)
    assert not thread.is_alive()


def _subscribe(broker_url: str, topic: str) -> tuple[mqtt.Client, queue.Queue[bytes]]:
    host, port = broker_url.removeprefix("mqtt://").split(":")
    client_id = f"sub-{uuid.uuid4().hex[:6]}"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(client_id)
    got: queue.Queue[bytes] = queue.Queue()
    subscribed = threading.Event()
    client.on_message = lambda _c, _u, message: got.put(message.payload)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.connect(host, int(port))
    client.loop_start()
    assert subscribed.wait(DEADLINE_S)
    return client, got


def _events(pg_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT document FROM alert_events ORDER BY event_id").fetchall()
    return [r[0] for r in rows]


def _drain(got: queue.Queue[bytes]) -> list[dict[str, Any]]:
    out = []
    while not got.empty():
        out.append(json.loads(got.get()))
    return out


def test_a_spring_flood_replayed_over_mqtt(
    river: tuple[Settings, int], pg_url: str, broker_url: str
) -> None:
    settings, port = river
    prefix = settings.topic_prefix
    subscriber, mqtt_events = _subscribe(broker_url, f"{prefix}/events/river/#")
    levels = RISE + FALL
    start = datetime.now(UTC).replace(microsecond=0) - STEP * (len(levels) + 1)
    times = [start + STEP * k for k in range(len(levels))]

    def send(indices: range) -> None:
        publish(
            broker_url,
            [
                (
                    f"{prefix}/devices/{GAUGE}/json",
                    json.dumps(
                        {"time": times[k].isoformat(), "values": {"water_level": levels[k]}}
                    ).encode(),
                )
                for k in indices
            ],
        )

    def actions(kind: str) -> list[str]:
        return [e["action"] for e in _events(pg_url) if e["kind"] == kind]

    def until(predicate: Callable[[], object]) -> None:
        wait_for(predicate, DEADLINE_S)

    # the rising limb, up to orange; the staff acknowledge through the API
    send(range(len(RISE)))
    until(lambda: actions("level") == ["raised", "escalated"])
    app = create_app(settings, pg_url)
    with signed_in(app, pg_url, Role.EMERGENCY) as client:  # the duty officer's key
        (alert,) = [
            a
            for a in client.get("/river/alerts", params={"state": "open"}).json()["alerts"]
            if a["kind"] == "level"  # the gauge may have fallen silent meanwhile
        ]
        assert (alert["code"], alert["state"]) == ("orange", "active")
        assert alert["message"] == "556 cm: orange, flood level (550 cm) reached"
        ack = client.post(
            f"/river/alerts/{alert['alert_id']}/ack", json={"note": "sandbags to the port"}
        )
        assert ack.status_code == 200, ack.text
        assert ack.json()["state"] == "acknowledged"
        assert ack.json()["acknowledged_by"] == "tests-emergency"  # who signed in, not a field
        again = client.post(f"/river/alerts/{alert['alert_id']}/ack", json={})
        assert again.status_code == 409
        assert "acknowledged (by tests-emergency" in again.json()["detail"]
        assert client.post("/river/alerts/999999/ack", json={}).status_code == 404
        forged = client.post(f"/river/alerts/{alert['alert_id']}/ack", json={"by": "someone"})
        assert forged.status_code == 400  # the name is the signed-in subject's, not chosen

        # the peak and the recession
        send(range(len(RISE), len(levels)))
        until(lambda: actions("level")[-1:] == ["resolved"])
        level = [e for e in _events(pg_url) if e["kind"] == "level"]
        assert [(e["action"], e["severity"]) for e in level] == [
            (a, s) for a, s, _ in EXPECTED_LEVEL
        ]
        for event, (_, _, index) in zip(level, EXPECTED_LEVEL, strict=True):
            if index is not None:
                assert datetime.fromisoformat(event["at"]) == times[index], event
        assert len({e["alert_id"] for e in level}) == 1, "one alert through the whole flood"
        assert level[3]["state"] == "active", "the escalation to red re-opened the alert"
        spike = [(e["action"], e["at"]) for e in _events(pg_url) if e["kind"] == "spike"]
        assert spike == [("raised", times[15].isoformat()), ("resolved", times[16].isoformat())]

        # the gauge falls silent: its own alert, cleared by the next reading (a silence
        # between the limbs, if the machine was slow, was cleared by the recession)
        until(lambda: actions("silence")[-1:] == ["raised"])
        times.append(datetime.now(UTC).replace(microsecond=0))
        levels.append(468.0)
        send(range(len(levels) - 1, len(levels)))
        until(lambda: actions("silence")[-1:] == ["resolved"])
        silences = actions("silence")
        assert silences == ["raised", "resolved"] * (len(silences) // 2)

        history = client.get(f"/river/alerts/{alert['alert_id']}").json()["history"]
        assert [h["action"] for h in history] == [a for a, _, _ in EXPECTED_LEVEL]
        assert history[2]["acknowledged_by"] == "tests-emergency"
        assert history[2]["note"] == "sandbags to the port"
        past = client.get("/river/alerts", params={"state": "past"}).json()["alerts"]
        assert {a["kind"] for a in past} == {"level", "spike", "silence"}

    # silent again after its last reading: the last event there will be
    until(lambda: actions("silence")[-1:] == ["raised"])
    everything = _events(pg_url)

    # every event on MQTT, none twice
    until(lambda: mqtt_events.qsize() >= len(everything))
    on_mqtt = _drain(mqtt_events)
    subscriber.disconnect()
    subscriber.loop_stop()
    assert sorted(e["id"] for e in on_mqtt) == sorted(e["id"] for e in everything)

    # the webhook was down: deliveries were refused and retried ...
    outbox = "SELECT max(attempts), count(delivered_at) FROM alert_outbox WHERE channel = %s"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tried = conn.execute(outbox, ("webhook:duty",)).fetchone()
        assert tried is not None and tried[0] > 1
        # ... once it is up it receives every event, in order, each once, signed: once
        # the outbox holds every one as delivered, no delivery is left to come
        _Receiver.received = queue.Queue()
        server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            until(lambda: conn.execute(outbox, ("webhook:duty",)).fetchone()[1] == len(everything))
            deliveries = []
            while not _Receiver.received.empty():
                deliveries.append(_Receiver.received.get())
        finally:
            server.shutdown()
    ids = [headers["webhook-id"] for headers, _ in deliveries]
    assert ids == [e["id"] for e in everything], "every event, in order, none twice"
    verifier = Verifier(SECRET)
    for headers, body in deliveries:
        document = verifier.verify(body, headers)
        assert document["id"] == headers["webhook-id"]
    with pytest.raises(Exception, match="signature"):
        verifier.verify(deliveries[0][1].replace(b"level", b"LEVEL"), deliveries[0][0])
