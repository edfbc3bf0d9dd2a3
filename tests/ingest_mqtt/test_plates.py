"""The hub stores no licence plates: a plate in a payload is refused for its field, the
other values are stored, and the dead letter keeps the payload without the plate. End
to end over a real broker and PostgreSQL, then the redaction alone."""

from __future__ import annotations

import time

import orjson
import psycopg
import pytest

from ingest_mqtt import personal, registry
from ingest_mqtt.worker import IngestWorker
from settings import Settings
from storage import devices
from tests.live_ingest import publish, wait_for

PLATE = "TR 01 ABC"


def test_a_plate_is_refused_and_never_stored(
    pg_url: str, broker_url: str, settings: Settings, worker: IngestWorker
) -> None:
    with psycopg.connect(pg_url) as conn:
        devices.register(conn, [devices.Device("gate-1", "parking_counter", ("occupied_spaces",))])
    # the worker reads the registry again when a device it does not know reports, at
    # most once a second: past that, gate-1 is known
    time.sleep(registry.UNKNOWN_DEVICE_REFRESH_S + 0.2)
    prefix = settings.topic_prefix
    compact = {"values": {"occupied_spaces": 12, "licence_plate": PLATE}}
    senml = [
        {"bn": "urn:dev:id:gate-1:", "n": "plate", "vs": PLATE},
        {"n": "occupied_spaces", "v": 13, "t": 1},
    ]
    publish(
        broker_url,
        [
            (f"{prefix}/devices/gate-1/json", orjson.dumps(compact)),
            (f"{prefix}/devices/gate-1/senml", orjson.dumps(senml)),
        ],
    )
    wait_for(lambda: worker.stats.dead_lettered >= 2)
    with psycopg.connect(pg_url) as conn:
        values = conn.execute(
            "SELECT value FROM readings WHERE device_id = 'gate-1' ORDER BY value"
        ).fetchall()
        assert [v for (v,) in values] == [12.0, 13.0]  # the other values are stored
        letters = {
            topic.rsplit("/", 1)[1]: (payload, reason)
            for topic, payload, reason in conn.execute(
                "SELECT topic, convert_from(payload, 'UTF8'), reason FROM dead_letters"
            ).fetchall()
        }
        kept = conn.execute(
            "SELECT count(*) FROM dead_letters"
            " WHERE position(%s::bytea IN payload) > 0 OR reason LIKE %s",
            (b"ABC", "%ABC%"),
        ).fetchone()
    assert sorted(letters) == ["json", "senml"]
    assert "'licence_plate' is a licence plate" in letters["json"][1]
    assert orjson.loads(letters["json"][0])["values"]["licence_plate"] == personal.REDACTED
    assert orjson.loads(letters["senml"][0])[0]["vs"] == personal.REDACTED
    assert kept == (0,)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            b'[{"time": "2025-01-01T00:00:00Z", "values": {"Licence-Plate": "B 123 XYZ"}}]',
            [{"time": "2025-01-01T00:00:00Z", "values": {"Licence-Plate": personal.REDACTED}}],
        ),
        (
            b'[{"bn": "cam:", "n": "occupied_spaces", "v": 1}, {"n": "anpr", "vs": "B1"}]',
            [
                {"bn": "cam:", "n": "occupied_spaces", "v": 1},
                {"n": "anpr", "vs": personal.REDACTED},
            ],
        ),
        (b'{"values": {"water_level": 312}}', None),  # nothing to remove: kept as it came
        (b'{"values": {"registration": "TR', personal.REDACTED.encode()),  # not JSON: dropped
    ],
)
def test_redaction(payload: bytes, expected: object) -> None:
    found = personal.redact(payload)
    if isinstance(expected, list):
        assert found is not None and orjson.loads(found) == expected
    else:
        assert found == expected
