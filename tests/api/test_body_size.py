"""Request bodies over the limit: 413 problem+json from a real server, before the body is
read whole, whether its length is declared or it comes in chunks."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable, Iterator

import psycopg
import pytest

from auth.principal import Role
from harness.credentials import key_headers
from harness.live import served
from storage import migrations
from tests import backends

LIMIT = 64 * 1024
ACK = "/river/alerts/1/ack"


DUTY: dict[str, str] = {}
"""An emergency key's header, made with the server."""


@pytest.fixture(scope="module")
def server(pg_server: str) -> Iterator[tuple[str, int]]:
    with backends.fresh_database(pg_server) as url:
        with psycopg.connect(url) as conn:
            migrations.upgrade(conn)
        DUTY.update(key_headers(url, Role.EMERGENCY))
        with served(url, settings={"SMARTCITY_MAX_BODY_BYTES": str(LIMIT)}) as base:
            host, port = base.removeprefix("http://").split(":")
            yield host, int(port)


def _exchange(
    server: tuple[str, int], head: str, chunks: Iterable[bytes] = ()
) -> tuple[int, str, bytes]:
    """Send ``head`` and then ``chunks`` on one connection (as far as the server reads
    them), then read the answer: status, content type and body."""
    with socket.create_connection(server, timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: the rest was never read
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, answer.getheader("content-type", ""), answer.read()


def _head(path: str, *headers: str) -> str:
    signed = [f"{name}: {value}" for name, value in DUTY.items()]
    lines = [f"POST {path} HTTP/1.1", "Host: hub", "Content-Type: application/json", *signed]
    lines += headers
    return "\r\n".join(lines) + "\r\n\r\n"


def _too_large(status: int, content_type: str, body: bytes) -> None:
    assert status == 413, body
    assert content_type == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 413
    assert problem["title"] == "Request body too large"
    assert f"{LIMIT:,} bytes" in problem["detail"]


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_sent(
    server: tuple[str, int],
) -> None:
    # the body is never sent: the answer cannot have waited for it
    _too_large(*_exchange(server, _head(ACK, f"Content-Length: {100 * LIMIT}")))
    _too_large(*_exchange(server, _head("/health", f"Content-Length: {LIMIT + 1}")))


def _chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"


def test_a_chunked_body_is_refused_at_the_chunk_over_the_limit(server: tuple[str, int]) -> None:
    # twice the limit, and no last chunk: the server answers without the body's end
    pieces = [b"{" + b" " * 4094 + b"}"] * (2 * LIMIT // 4096)
    head = _head(ACK, "Transfer-Encoding: chunked")
    _too_large(*_exchange(server, head, _chunked(pieces)))


def test_bodies_within_the_limit_reach_the_route(server: tuple[str, int]) -> None:
    body = json.dumps({"note": "x" * 1000}).encode()
    status, content_type, answer = _exchange(
        server, _head(ACK, f"Content-Length: {len(body)}"), [body]
    )
    assert status == 404, answer  # no alert 1: the route read the body and looked
    head = _head(ACK, "Transfer-Encoding: chunked")
    status, _, answer = _exchange(server, head, [*_chunked([body[:500], body[500:]]), b"0\r\n\r\n"])
    assert status == 404, answer
