"""``smartcity serve --workers 2``: two API processes behind one port, each correct.

Connections are pinned to a process by looking up, among the server's processes, the
one holding the other end of each client socket; then a reading committed to the
database reaches ``/twin/stream`` viewers of both processes and each one's list of
assets (both from its live twin), a reading published over MQTT reaches each one's
``/parking/lots`` and an operator's closure through one is seen at once through the
other (both from its live lots), and a river alert raised
and acknowledged through one process is seen, acknowledged, through the other (its
page and its ``/river/stream``).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import psutil
import psycopg
import pytest

from auth.principal import Role
from demo_town.river import DEMO
from harness.credentials import key_headers
from harness.live import served
from ingest_mqtt.worker import IngestWorker
from settings import Settings
from storage import migrations
from storage.readings import Reading, ReadingWriter
from tests.live_ingest import publish, wait_for
from tests.river_alerts import raise_alert

pytestmark = pytest.mark.integration

WORKERS = 2
# How long to keep opening connections until each process has taken one: the kernel
# hands each to whichever process accepts first, and on a loaded machine one process
# can take many in a row, or be slow to get ready.
FIND_WORKERS_S = 90.0
GAUGE = DEMO.gauges[0]  # the API's river configuration when none is given


def _serves(process: psutil.Process, port: int) -> bool:
    """Whether ``process`` is a ``hub serve --workers N`` listening on ``port``. Other
    processes come and go meanwhile (other test workers' servers, exiting children):
    one whose command line cannot be read, or that is gone, is not it."""
    command = process.info["cmdline"] or []
    if command[-4:] != ["hub", "serve", "--workers", str(WORKERS)]:
        return False
    try:
        return any(c.laddr.port == port for c in process.net_connections("tcp"))
    except psutil.Error:
        return False


def _worker_of(connection: http.client.HTTPConnection, port: int) -> int:
    """The pid of the server process holding the other end of ``connection``."""
    assert connection.sock is not None
    mine = connection.sock.getsockname()[1]
    server = next(p for p in psutil.process_iter(["cmdline"]) if _serves(p, port))
    for process in server.children(recursive=True):
        try:
            held = process.net_connections("tcp")
        except psutil.Error:  # a helper process that has just ended
            continue
        if any(c.laddr.port == port and c.raddr and c.raddr.port == mine for c in held):
            return process.pid
    raise AssertionError(f"no server process holds the connection from port {mine}")


@contextmanager
def _per_worker(
    url: str, path: str, headers: dict[str, str]
) -> Iterator[dict[int, http.client.HTTPResponse]]:
    """An open GET ``path`` (a stream, past its ``ready`` event) on each API process,
    keyed by its pid."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    found: dict[int, http.client.HTTPResponse] = {}
    with ExitStack() as stack:
        deadline = time.monotonic() + FIND_WORKERS_S
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            assert response.status == 200, response.read()
            pid = _worker_of(connection, parts.port)
            if pid in found or not _events(response, "ready", 30):
                connection.close()  # a process already had one, or was not ready (503)
                time.sleep(0.2)
                continue
            stack.callback(connection.close)
            found[pid] = response
            if len(found) == WORKERS:
                yield found
                return
        raise AssertionError(f"only {len(found)} of {WORKERS} processes took connections")


def _pinned(host: str, port: int) -> dict[int, http.client.HTTPConnection]:
    """A keep-alive connection to each API process, keyed by its pid."""
    pinned: dict[int, http.client.HTTPConnection] = {}
    deadline = time.monotonic() + FIND_WORKERS_S
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.request("GET", "/health")
        connection.getresponse().read()
        if pinned.setdefault(_worker_of(connection, port), connection) is not connection:
            connection.close()
            time.sleep(0.05)
        if len(pinned) == WORKERS:
            return pinned
    raise AssertionError(f"only {len(pinned)} of {WORKERS} processes took connections")


def _events(response: http.client.HTTPResponse, wanted: str, seconds: float) -> list[dict]:
    """The ``wanted`` events' data read from an SSE response until one arrives."""
    got: list[dict] = []
    event = None
    deadline = time.monotonic() + seconds
    while not got and time.monotonic() < deadline:
        line = response.readline().decode().rstrip("\r\n")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == wanted:
            got.append(json.loads(line.removeprefix("data: ")))
    return got


def test_a_committed_reading_reaches_twin_viewers_of_every_process(small_town: str) -> None:
    viewer = key_headers(small_town, Role.VIEWER)
    with (
        served(small_town, workers=WORKERS) as url,
        _per_worker(url, "/twin/stream", viewer) as streams,
    ):
        with psycopg.connect(small_town) as conn:
            ReadingWriter(migrations.readings_storage(conn)).write(
                conn, [Reading("gauge-tr-magurele", "water_level", datetime.now(UTC), 640.0)]
            )
        for pid, response in streams.items():
            (event,) = _events(response, "asset", 30)
            assert event["asset_id"] == "gauge-tr-magurele", pid
            assert event["values"]["gauge-tr-magurele"]["water_level"] == 640.0, pid
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        for pid, connection in _pinned(parts.hostname, parts.port).items():
            connection.request("GET", "/twin/assets?kind=river_gauge", headers=viewer)
            (gauge,) = json.loads(connection.getresponse().read())["assets"]
            assert gauge["sensors"][0]["latest"]["water_level"]["value"] == 640.0, pid
            connection.close()


def test_an_alert_acknowledged_through_one_process_is_seen_through_the_other(
    small_town: str,
) -> None:
    duty = key_headers(small_town, Role.EMERGENCY)
    with (
        served(small_town, workers=WORKERS) as url,
        _per_worker(url, "/river/stream", duty) as streams,
    ):
        alert_id = raise_alert(small_town)
        for response in streams.values():
            assert [e["action"] for e in _events(response, "alert", 30)] == ["raised"]
        first, second = streams
        host, port = urlsplit(url).hostname, urlsplit(url).port
        assert host is not None and port is not None
        pinned = _pinned(host, port)
        body = json.dumps({"note": "echipaj trimis"})
        pinned[first].request(
            "POST",
            f"/river/alerts/{alert_id}/ack",
            body,
            {"Content-Type": "application/json", **duty},
        )
        answer = pinned[first].getresponse()
        assert answer.status == 200, answer.read()
        answer.read()
        pinned[second].request("GET", f"/river/alerts/{alert_id}", headers=duty)
        seen = json.loads(pinned[second].getresponse().read())
        assert seen["state"] == "acknowledged" and seen["acknowledged_by"] == "tests-emergency"
        for response in streams.values():
            assert [e["action"] for e in _events(response, "alert", 30)] == ["acknowledged"]
        for connection in pinned.values():
            connection.close()


def test_parking_lots_follow_mqtt_readings_and_operators_in_every_process(
    small_town: str, worker: IngestWorker, broker_url: str, settings: Settings
) -> None:
    operator = key_headers(small_town, Role.PARKING_OPERATOR)
    with served(small_town, workers=WORKERS) as url:
        host, port = urlsplit(url).hostname, urlsplit(url).port
        assert host is not None and port is not None
        pinned = _pinned(host, port)

        def lot(pid: int) -> dict:
            pinned[pid].request("GET", "/parking/lots")
            answer = json.loads(pinned[pid].getresponse().read())
            return {x["lot_id"]: x for x in answer["lots"]}["lot-centru"]

        for pid in pinned:  # of 2 bays, b001 occupied
            assert (lot(pid)["occupied"], lot(pid)["status"]) == (1, "open"), pid
        reading = {"time": datetime.now(UTC).isoformat(), "values": {"occupied": 1}}
        topic = f"{settings.topic_prefix}/devices/lot-centru-b002/json"
        publish(broker_url, [(topic, json.dumps(reading).encode())])
        for pid in pinned:  # each process's live lots follow the committed reading
            wait_for(lambda pid=pid: lot(pid)["status"] == "full")
            assert lot(pid)["occupied"] == 2, pid
        # an operator's decision through one process shows at once through the other
        first, second = pinned
        for acting, reading_pid, path, body, status in (
            (first, second, "close", {"reason": "piață"}, "closed"),
            (second, first, "reopen", {}, "full"),
        ):
            pinned[acting].request(
                "POST",
                f"/parking/lots/lot-centru/{path}",
                json.dumps(body),
                {"Content-Type": "application/json", **operator},
            )
            answer = pinned[acting].getresponse()
            assert answer.status == 200, answer.read()
            answer.read()
            assert lot(reading_pid)["status"] == status, path
        for connection in pinned.values():
            connection.close()
