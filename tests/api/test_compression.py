"""Answers are gzip-compressed for clients that accept it, and only where that helps:
JSON and GeoJSON pages yes; vector tiles (already gzip) not twice; event streams not
at all, so that every event still reaches the client when it happens."""

from __future__ import annotations

import gzip
import json
import queue
import threading

import httpx
import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from auth.principal import Role
from harness.credentials import key_headers
from harness.live import live_server
from settings import Settings
from storage import migrations
from tests.api.lots import WGS, N, lots_client  # noqa: F401  (fixture)

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def _wire(client: TestClient, url: str, headers: dict[str, str]) -> tuple[httpx.Headers, bytes]:
    """The answer's headers and its bytes as sent, before the client's own decompression."""
    with client.stream("GET", url, headers=headers) as answer:
        assert answer.status_code == 200, answer.read()
        return answer.headers, b"".join(answer.iter_raw())


def _timeless(document: dict[str, object]) -> dict[str, object]:
    """The document without its ``timeStamp`` (the moment of each answer)."""
    return {k: v for k, v in document.items() if k != "timeStamp"}


@pytest.mark.parametrize(
    "url",
    [
        f"/collections/lots/items?limit={N}",
        "/collections/lots/items?limit=20&f=json",
        "/collections",
        "/openapi.json",
    ],
)
def test_json_answers_are_gzipped_for_clients_that_accept_it(
    lots_client: TestClient,  # noqa: F811
    url: str,
) -> None:
    plain_headers, plain = _wire(lots_client, url, IDENTITY)
    assert "content-encoding" not in plain_headers
    headers, wire = _wire(lots_client, url, GZIP)
    assert headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in headers["vary"]
    assert headers["content-type"] == plain_headers["content-type"]
    decoded = json.loads(gzip.decompress(wire))
    assert _timeless(decoded) == _timeless(json.loads(plain))
    assert len(wire) < len(plain) / 2


def test_small_answers_are_sent_as_they_are(lots_client: TestClient) -> None:  # noqa: F811
    headers, wire = _wire(lots_client, "/health", GZIP)
    assert "content-encoding" not in headers and len(wire) < 1000


def test_vector_tiles_are_not_compressed_twice(lots_client: TestClient) -> None:  # noqa: F811
    minx, miny, maxx, maxy = WGS.total_bounds
    x, y, z = morecantile.tms.get("WebMercatorQuad").tile((minx + maxx) / 2, (miny + maxy) / 2, 15)
    tile = f"/collections/lots/tiles/WebMercatorQuad/{z}/{y}/{x}"
    _, plain = _wire(lots_client, tile, IDENTITY)
    assert plain[:2] != b"\x1f\x8b", "an identity tile must not be gzip"
    headers, wire = _wire(lots_client, tile, GZIP)
    assert headers["content-encoding"] == "gzip"  # one encoding, not "gzip, gzip"
    assert gzip.decompress(wire) == plain


@pytest.mark.parametrize("path", ["/twin/stream", "/river/stream"])
def test_event_streams_reach_gzip_clients_event_by_event(pg_url: str, path: str) -> None:
    """The first event arrives while the stream stays open (a compressor would hold it
    back until the stream ends, which an event stream never does)."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    lines: queue.Queue[str | httpx.Headers] = queue.Queue()
    viewer = key_headers(pg_url, Role.VIEWER)

    def listen(base: str) -> None:
        with httpx.stream("GET", base + path, headers=GZIP | viewer, timeout=30) as answer:
            lines.put(answer.headers)
            for line in answer.iter_lines():
                lines.put(line)

    with live_server(create_app(Settings(), pg_url)) as base:
        threading.Thread(target=listen, args=(base,), daemon=True).start()
        headers = lines.get(timeout=30)
        assert isinstance(headers, httpx.Headers)
        assert headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in headers
        assert lines.get(timeout=30) == "event: ready"
