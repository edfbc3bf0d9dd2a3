"""Publishing that knows when the broker has a message: QoS 1, awaited from asyncio.

For the hub's own events out (the alert engine's MQTT channel): a delivery counts once
the broker acknowledged it, so :meth:`Publisher.publish` returns only then and raises
:class:`PublishError` otherwise, for the caller to retry. paho's network loop runs in
its own thread and reconnects by itself (:func:`ingest_mqtt.client.make_client`); the
wait for the acknowledgement runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType

import paho.mqtt.client as mqtt

from ingest_mqtt.client import make_client


class PublishError(RuntimeError):
    """The broker did not take a message; the message says why."""


class Publisher:
    """A connected QoS 1 publisher; use as a context manager (connects, then disconnects)."""

    def __init__(
        self,
        broker_url: str,
        client_id: str,
        *,
        protocol: str = "5",
        timeout_s: float = 5.0,
        ca_file: Path | None = None,
    ) -> None:
        """``timeout_s``: how long :meth:`publish` waits for the broker's acknowledgement;
        ``ca_file``: the CA trusted for an ``mqtts://`` broker (unset: the system's)."""
        self._client = make_client(broker_url, client_id, protocol=protocol, ca_file=ca_file)
        self._timeout_s = timeout_s

    def __enter__(self) -> Publisher:
        self._client.loop_start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and return once the broker acknowledged it."""
        info = self._client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise PublishError(f"MQTT publish refused: {mqtt.error_string(info.rc)}")
        await asyncio.to_thread(info.wait_for_publish, self._timeout_s)
        if not info.is_published():
            raise PublishError(f"no acknowledgement from the broker in {self._timeout_s} s")
