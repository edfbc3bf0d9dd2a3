"""The live twin's big answers (the list of assets, the snapshot) are made once and reused
while fresh: an operator's change shows at once, readings within the stated bound, and
nobody gets an answer made for another base URL or a caller the route refuses."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.live_answers import LiveAnswers
from auth.principal import Role
from harness.credentials import key_headers
from settings import Settings
from storage import migrations
from storage.readings import Reading, ReadingWriter

LOTS = "/twin/assets?kind=parking_lot"


def _hub(url: str, reuse_s: float) -> tuple[FastAPI, TestClient]:
    app = create_app(Settings(live_answer_reuse_s=reuse_s), url)
    return app, TestClient(app, headers=key_headers(url, Role.PARKING_OPERATOR))


@pytest.fixture
def hub(small_town: str) -> Iterator[tuple[FastAPI, TestClient, str]]:
    """The small town served with answers reused for a minute: only a change can make
    an answer fresh within a test."""
    app, client = _hub(small_town, 60.0)
    with client:
        yield app, client, small_town


def _answers(app: FastAPI) -> LiveAnswers:
    answers: LiveAnswers = app.state.live_answers
    return answers


def _until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the live twin did not follow"
        time.sleep(0.02)


def _write(url: str, device: str, quantity: str, value: float) -> None:
    with psycopg.connect(url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading(device, quantity, datetime.now(UTC), value)]
        )


def test_requests_share_one_encoding_and_one_compression(
    hub: tuple[FastAPI, TestClient, str],
) -> None:
    app, client, _ = hub
    first = client.get(LOTS, headers={"Accept-Encoding": "gzip"})
    second = client.get(LOTS, headers={"Accept-Encoding": "gzip"})
    plain = client.get(LOTS, headers={"Accept-Encoding": "identity"})
    assert first.status_code == second.status_code == plain.status_code == 200
    assert _answers(app).made == 1 and _answers(app).compressed == 1
    assert first.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert first.headers["etag"] == second.headers["etag"] == plain.headers["etag"]
    assert "Accept-Encoding" in first.headers["vary"]
    # httpx has decoded the gzip body; decode the raw one with the standard library too
    with client.stream("GET", LOTS) as raw:
        compressed = b"".join(raw.iter_raw())
    assert gzip.decompress(compressed) == first.content == plain.content
    assert [a["asset_id"] for a in plain.json()["assets"]] == ["lot-centru"]
    snapshots = [client.get("/twin/snapshot").json() for _ in range(3)]
    assert _answers(app).made == 2
    assert snapshots[0] == snapshots[2]


def test_an_operators_change_shows_at_once(hub: tuple[FastAPI, TestClient, str]) -> None:
    app, client, _ = hub
    before = client.get(LOTS)
    assert before.json()["assets"][0]["status"]["state"] != "closed"
    assert client.get("/twin/snapshot").status_code == 200
    generation = app.state.live_twin.generation
    closing = client.post("/parking/lots/lot-centru/close", json={"reason": "market day"})
    assert closing.status_code == 200, closing.text
    _until(lambda: app.state.live_twin.generation != generation)
    # one request each, well within the minute the answers are reused for otherwise
    after = client.get(LOTS, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["assets"][0]["status"]["state"] == "closed"
    assert after.headers["etag"] != before.headers["etag"]
    snapshot = client.get("/twin/snapshot").json()["assets"]
    assert {a["asset_id"]: a for a in snapshot}["lot-centru"]["status"]["state"] == "closed"


def test_readings_show_once_the_reuse_bound_has_passed(small_town: str) -> None:
    reuse_s = 0.3
    app, client = _hub(small_town, reuse_s)
    with client:
        level = client.get("/twin/snapshot").json()
        lots = client.get(LOTS)
        made = _answers(app).made
        # a quiet twin: the list stays valid however old; the snapshot, which names its
        # moment, is made anew once the bound has passed
        time.sleep(reuse_s + 0.05)
        assert client.get(LOTS).headers["etag"] == lots.headers["etag"]
        assert _answers(app).made == made
        assert client.get("/twin/snapshot").json()["at"] > level["at"]
        assert _answers(app).made == made + 1
        version = app.state.live_twin.version
        _write(small_town, "gauge-tr-magurele", "water_level", 401.0)
        _until(lambda: app.state.live_twin.version != version)
        time.sleep(reuse_s + 0.05)
        now = client.get("/twin/snapshot").json()
        gauge = {a["asset_id"]: a for a in now["assets"]}["gauge-tr-magurele"]
        assert gauge["values"]["gauge-tr-magurele"]["water_level"] == 401.0
        # the list is made anew (the twin changed) but is the same: a client holding it
        # is told so without a body
        again = client.get(LOTS, headers={"If-None-Match": lots.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == lots.headers["etag"]
        assert _answers(app).made == made + 3


def test_no_answer_crosses_to_another_base_url_or_to_anonymous(
    hub: tuple[FastAPI, TestClient, str],
) -> None:
    app, client, _ = hub
    here = client.get(LOTS).json()["assets"][0]
    there = client.get(LOTS, headers={"Host": "hub.example.org"}).json()["assets"][0]
    assert here["parcel"]["href"].startswith("http://testserver/")
    assert there["parcel"]["href"].startswith("http://hub.example.org/")
    assert _answers(app).made == 2
    anonymous = TestClient(app)  # no credentials
    for path in (LOTS, "/twin/snapshot"):
        refused = anonymous.get(path)
        assert refused.status_code == 401
        assert b"lot-centru" not in refused.content


PARKING = ("/parking/lots", "/parking/zones")


def _closed_lots(client: TestClient) -> tuple[list[str], list[dict[str, int]]]:
    """The lots listed closed, and each urbanism zone's count of lots by status."""
    lots = client.get("/parking/lots").json()["lots"]
    zones = client.get("/parking/zones").json()["urbanism_zones"]
    return [lot["lot_id"] for lot in lots if lot["status"] == "closed"], [
        zone["by_status"] for zone in zones
    ]


def test_the_parking_answers_are_made_once_and_an_operators_action_shows_at_once(
    hub: tuple[FastAPI, TestClient, str],
) -> None:
    app, client, _ = hub
    made = _answers(app).made
    first = {path: client.get(path) for path in PARKING}
    made += len(PARKING)
    assert _answers(app).made == made
    again = {path: client.get(path) for path in PARKING}
    assert _answers(app).made == made  # within the minute: the same answers
    for path in PARKING:
        assert again[path].json() == first[path].json()  # as_of included
        assert again[path].headers["etag"] == first[path].headers["etag"]
    assert _closed_lots(client) == ([], [{"open": 1}])
    closing = client.post("/parking/lots/lot-centru/close", json={"reason": "market day"})
    assert closing.status_code == 200, closing.text
    # no waiting: before answering, a route catches up with the operators' actions
    assert _closed_lots(client) == (["lot-centru"], [{"closed": 1}])


def test_the_parking_answers_show_readings_once_the_reuse_bound_has_passed(
    small_town: str,
) -> None:
    reuse_s = 0.3
    app, client = _hub(small_town, reuse_s)
    with client:

        def occupied() -> int:
            return int(client.get("/parking/lots").json()["lots"][0]["occupied"])

        def zone_occupied() -> int:
            return int(client.get("/parking/zones").json()["urbanism_zones"][0]["occupied"])

        before = client.get("/parking/lots").json()
        assert client.get("/parking/lots").json()["as_of"] == before["as_of"]
        version = app.state.live_lots.version
        for bay in ("lot-centru-b001", "lot-centru-b002"):
            _write(small_town, bay, "occupied", 1.0)  # both bays taken: the lot is full
        _write(small_town, "lot-centru-counter", "occupied_spaces", 2.0)
        _until(lambda: app.state.live_lots.version != version)
        _until(lambda: occupied() == zone_occupied() == 2, seconds=reuse_s * 10)
        assert client.get("/parking/lots").json()["as_of"] > before["as_of"]
