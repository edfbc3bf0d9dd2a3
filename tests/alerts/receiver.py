"""A webhook receiver on loopback for the tests of alert deliveries: a real HTTP server
answering each POST with a chosen status."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hub.broker import free_port
from ingest_mqtt.publisher import Publisher
from tests.alerts.sources import SECRET
from tests.subscriber import WAIT_S

Received = queue.Queue[tuple[dict[str, str], bytes]]
"""Each request's headers (lower-case names) and body, in arrival order."""


class _Receiver(BaseHTTPRequestHandler):
    """A webhook receiver answering each POST with the next of ``answers`` (then 204)."""

    answers: list[int]
    received: Received

    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.put(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(self.answers.pop(0) if self.answers else 204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def receiver(answers: list[int]) -> Iterator[tuple[str, Received]]:
    """A webhook receiver's URL and what it received."""
    received: Received = queue.Queue()
    handler = type("Handler", (_Receiver,), {"answers": list(answers), "received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def drain(received: Received) -> list[tuple[dict[str, str], bytes]]:
    """What was received so far."""
    out = []
    while not received.empty():
        out.append(received.get())
    return out


def webhooks_toml(url: str, contacts: dict[str, str]) -> str:
    """A webhooks file's text: a webhook named each key of ``contacts``, at ``url``, for
    the contact group its value names."""
    return "\n".join(
        f'[[webhooks]]\nname = "{name}"\nurl = "{url}"\nsecret = "{SECRET}"\n'
        f'contacts = ["{group}"]\n'
        for name, group in contacts.items()
    )


def serve_until(
    serve: Callable[[Publisher, asyncio.Event], Awaitable[None]], received: Received, count: int
) -> None:
    """Run an alert service (``serve(publisher, stop)``) until the receiver got ``count``
    requests, then stop it. There is no broker: MQTT is refused and retried on its own
    channel, the webhooks go on."""

    async def run() -> None:
        stop = asyncio.Event()
        absent = f"mqtt://127.0.0.1:{free_port()}"
        with Publisher(absent, "pub-absent", timeout_s=0.1) as publisher:
            service = asyncio.create_task(serve(publisher, stop))
            deadline = time.monotonic() + WAIT_S
            while received.qsize() < count and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(service, WAIT_S)

    asyncio.run(run())
