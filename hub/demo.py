"""``smartcity demo``: the whole hub in one process tree, stopped cleanly by Ctrl-C.

This process owns the embedded database and broker (when no URLs are configured),
loads the demo town, then runs ingestion, the Danube monitor, the simulator and the API
as child processes pointed at them, and stops everything in reverse order.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime

from hub.broker import free_port, port_answers
from hub.demo_data import demo_loaded, load_demo_town
from hub.services import database_url
from ingest_mqtt.client import wait_for_broker
from settings import BrokerAddress, Settings
from storage.database import connect
from storage.meta import get_meta, subscribed_key

log = logging.getLogger(__name__)

CHILD_STOP_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hub", *args], env=env)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
    for child in reversed(children):
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("child %s did not stop; killing it", child.args)
            child.kill()
            child.wait()


def _wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not port_answers(host, port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answers on {host}:{port} after {timeout:.0f} s")
        time.sleep(0.2)


def _wait_for_subscription(
    url: str, client_id: str, since: datetime, children: list[subprocess.Popen[bytes]]
) -> None:
    """Wait until the ingestion worker has subscribed, so the first messages are not lost."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with connect(url, autocommit=True) as conn:
        while True:
            stamp = get_meta(conn, subscribed_key(client_id))
            if stamp is not None and datetime.fromisoformat(stamp) >= since:
                return
            if any(child.poll() is not None for child in children):
                raise RuntimeError("a hub process exited during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the ingestion worker did not subscribe in {START_TIMEOUT_S} s")
            time.sleep(0.2)


def run_demo(settings: Settings, stop: threading.Event, *, flood_peak: float | None = None) -> int:
    """Run the demo until ``stop`` is set or a child dies; return an exit code."""
    children: list[subprocess.Popen[bytes]] = []
    with ExitStack() as stack:
        url = stack.enter_context(database_url(settings))
        if not demo_loaded(url, settings.seed):
            load_demo_town(url, settings.data_dir / "demo", settings.seed)
        env = {**os.environ, "SMARTCITY_DATABASE_URL": url}
        stack.callback(_stop, children)
        if settings.mqtt_url:
            mqtt_url = settings.mqtt_url
        else:
            port = free_port()
            children.append(_spawn(["broker", "--port", str(port)], env))
            mqtt_url = f"mqtt://127.0.0.1:{port}"
            env["SMARTCITY_MQTT_PROTOCOL"] = settings.mqtt_protocol
        wait_for_broker(mqtt_url, START_TIMEOUT_S, settings.mqtt_protocol)
        address = BrokerAddress(mqtt_url)
        env["SMARTCITY_MQTT_URL"] = mqtt_url
        simulate_args = ["simulate"]
        if flood_peak is not None:
            simulate_args += ["--flood-peak", str(flood_peak)]
        spawned_at = datetime.now(UTC)
        children.append(_spawn(["ingest"], env))
        _wait_for_subscription(url, settings.ingest_client_id, spawned_at, children)
        children.append(_spawn(["river"], env))
        children.append(_spawn(simulate_args, env))
        children.append(_spawn(["serve"], env))
        _wait_for_port(settings.http_host, settings.http_port, START_TIMEOUT_S)
        base = f"http://{settings.http_host}:{settings.http_port}"
        print(
            "\nSmart-city hub demo is running (Ctrl-C stops it):\n"
            f"  map          {base}/map\n"
            f"  API docs     {base}/docs\n"
            f"  layers       {base}/collections\n"
            f"  devices      {base}/devices\n"
            f"  Danube       {base}/river/gauges, {base}/river/alerts, {base}/river/flood\n"
            f"  MQTT broker  {address.host}:{address.port}"
            f" (topics {settings.topic_prefix}/devices/+/senml|json, docs/mqtt.md)\n"
            f"  database     {url}\n",
            flush=True,
        )
        while not stop.wait(1.0):
            dead = [c for c in children if c.poll() is not None]
            if dead:
                log.error("%s exited with %s; stopping the demo", dead[0].args, dead[0].returncode)
                return 1
    return 0
