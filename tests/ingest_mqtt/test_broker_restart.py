"""A Mosquitto restart (persistence on) in the middle of a stream, against the real broker.

What Mosquitto 2.0.11 — the version Debian 12 ships — does here is part of the result:
it keeps a persistent session's queued messages across the restart but does not resend
the QoS 1 messages that were *in flight* (sent, not yet acknowledged) when it stopped,
which MQTT 5 §4.4 requires. The strict xfail below pins that defect down with a bare
paho client, so the day the broker is fixed this test starts failing and the worker's
test can demand exactly-once across a restart too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ingest_faults  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    if ingest_faults.shutil.which("mosquitto", path="/usr/sbin:/usr/bin") is None:
        pytest.fail("mosquitto is required (scripts/test-deps.sh installs it)")
    return tmp_path


@pytest.mark.xfail(
    strict=True,
    reason="Mosquitto 2.0.11 does not resend in-flight QoS 1 messages after a restart",
)
def test_broker_resends_unacknowledged_messages_after_a_restart(workdir: Path) -> None:
    broker = ingest_faults.Broker(workdir)
    received: dict[int, set[bytes]] = {1: set(), 2: set()}
    connection = [0]
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="holder", protocol=mqtt.MQTTv5, manual_ack=True
    )

    def on_connect(c: mqtt.Client, *_args: object) -> None:
        connection[0] += 1
        c.subscribe("city/#", qos=1)

    def on_message(c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        received[connection[0]].add(m.payload)
        if connection[0] == 2:
            c.ack(m.mid, m.qos)  # the first connection acknowledges nothing

    client.on_connect = on_connect
    client.on_message = on_message
    client.reconnect_delay_set(0.2, 1)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    try:
        client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
        client.loop_start()
        stream = ingest_faults.Stream(broker.port, 200, None)
        stream.start()
        stream.join()
        ingest_faults._wait(lambda: len(received[1]) == 200, "200 messages", 30)
        broker.stop()
        broker.start()
        time.sleep(5)
        assert received[1] <= received[2], f"{len(received[1] - received[2])} never resent"
    finally:
        client.disconnect()
        client.loop_stop()
        broker.stop()


def test_worker_resumes_after_a_broker_restart_without_duplicates(workdir: Path) -> None:
    result = ingest_faults.broker_restart(workdir, messages=4000, rate=800)
    assert result["accepted"] == 4000
    # nothing stored twice: every reading is either stored once or counted as lost
    assert result["stored"] + result["lost"] == result["accepted"], result
    # the worker reconnected and took the rest of the stream
    assert result["stored"] > result["stopped_at_rows"] + 1500, result  # type: ignore[operator]
    # What is lost (if anything) is a run around the stop, never the stream's tail:
    # the xfail above shows the broker dropping its in-flight messages.
    if result["lost"]:
        _first, last = result["lost_range"]  # type: ignore[misc]
        assert last < result["published_at_stop"] + 800, result  # type: ignore[operator]
