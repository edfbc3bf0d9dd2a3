"""``smartcity serve`` as clients meet it over real connections."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from harness.live import served

pytestmark = pytest.mark.integration

REQUEST = b"GET /health HTTP/1.1\r\nHost: hub\r\n\r\n"


def _ask(conn: socket.socket) -> bytes:
    """Send one request on ``conn``; its whole answer, read up to its Content-Length
    (b"" if the server closed): a loaded server may send the head and the body apart,
    and a body left unread would pass for the next answer."""
    conn.sendall(REQUEST)
    answer = b""
    while b"\r\n\r\n" not in answer:
        part = conn.recv(65536)
        if not part:
            return answer
        answer += part
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length and (part := conn.recv(65536)):
        body += part
    return head + b"\r\n\r\n" + body


def _connect(url: str) -> socket.socket:
    address = urlsplit(url)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def test_an_idle_connection_outlives_clients_pausing_between_requests(pg_url: str) -> None:
    # uvicorn's own default (5 s) closes it under a user who waits 2-5 s between
    # requests: the next request, sent as the server closes, is reset.
    with served(pg_url) as url, _connect(url) as conn:
        assert _ask(conn).startswith(b"HTTP/1.1 200")
        time.sleep(6)
        assert _ask(conn).startswith(b"HTTP/1.1 200")


def test_the_keep_alive_is_a_setting(pg_url: str) -> None:
    with served(pg_url, settings={"SMARTCITY_KEEP_ALIVE_S": "1"}) as url, _connect(url) as conn:
        assert _ask(conn).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        while conn.recv(65536):  # the rest of the answer, then the server's close
            pass
        assert time.monotonic() - started < 4
