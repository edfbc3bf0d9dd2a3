"""The embedded MQTT broker (amqtt), used when ``SMARTCITY_MQTT_URL`` is unset.

It accepts any user name without a password but refuses clients with no user name:
amqtt keeps neither the subscriptions nor the queued QoS 1 messages of anonymous
sessions, and the ingestion worker relies on a persistent session to lose nothing.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

from amqtt.broker import Broker

log = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """An amqtt broker on its own event loop in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The broker's ``mqtt://`` URL."""
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        """Start listening; return once clients can connect."""
        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            self._broker = Broker(
                {
                    "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                    "plugins": {
                        "amqtt.plugins.authentication.AnonymousAuthPlugin": {
                            "allow_anonymous": False
                        }
                    },
                }
            )
            try:
                await self._broker.start()
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                raise
            finally:
                ready.set()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(serve())
                self._loop.run_forever()
            except BaseException:
                log.exception("embedded broker stopped with an error")
            finally:
                ready.set()

        self._thread = threading.Thread(target=run, name="embedded-mqtt", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"embedded MQTT broker did not start within {START_TIMEOUT_S} s")
        if failure:
            raise RuntimeError(f"embedded MQTT broker failed to start: {failure[0]}")
        log.info("embedded MQTT broker listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Shut the broker down and stop its loop."""
        if self._loop is None or self._broker is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            future.result(timeout=10)
        except Exception:
            log.warning("embedded broker did not shut down cleanly", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
