"""``smartcity demo``: the whole hub in one process tree, stopped cleanly by Ctrl-C.

This process owns the embedded database and broker (when no URLs are configured),
loads the demo town, then runs ingestion, the Danube monitor, the simulator and the API
as child processes pointed at them, and stops them one by one in reverse order, the
broker last, so that no client sees its broker vanish. The children run in process
groups of their own: the terminal's Ctrl-C reaches this process only, which stops them.

A demo flood lasts minutes where the Danube's last days, so one minute of the demo's
wave stands for an hour of the river (:data:`DEMO_SPEEDUP`). Judged by the gauge's
own rules, its rise would be "physically impossible" (faster than ``spike_cm_per_h``)
and too short for a rapid-rise trend (``rise_window_h``), so during a demo flood the
demo gauge's rate rules run as many times faster, written to a configuration file and
named as demo rules (:func:`river_rules`).
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import tomli_w

from carbon.factors import table_from
from demo_town.catalogue import GAUGE_ASSET_ID
from demo_town.river import DEMO
from hub.broker import free_port, port_answers
from hub.demo_data import DEMO_ACCOUNTS, demo_accounts, demo_loaded, load_demo_town
from hub.demo_history import fill_demo_history
from hub.services import database_url
from ingest_mqtt.client import wait_for_broker
from river_monitor.config import RiverConfig, load
from settings import BrokerAddress, Settings
from simulator.signals import DanubeModel, FloodWave
from storage.database import connect
from storage.meta import get_meta, subscribed_key

log = logging.getLogger(__name__)

CHILD_STOP_TIMEOUT_S = 10.0
START_TIMEOUT_S = 60.0
"""How long a process may take to start: importing the API alone took over 30 s on a
two-core machine running other work."""
DEMO_SPEEDUP = 60.0
"""How many times faster than the river the demo's flood runs: a minute stands for an hour."""
RIVER_RULES_FILE = "river-rules.toml"
"""The demo flood's river configuration, in the data directory's ``demo`` folder."""


class DemoStartError(RuntimeError):
    """A hub process did not start; the message says which and how long it was given."""


class FloodTooSteep(ValueError):
    """The demo's flood wave would rise faster than the gauge's rules call possible."""


@dataclass(frozen=True)
class DemoFlood:
    """The flood wave of ``smartcity demo --flood-peak``, as ``smartcity simulate`` runs it."""

    peak_cm: float
    rise_minutes: float
    fall_minutes: float

    def wave(self, now: datetime) -> FloodWave:
        """The wave a simulator started at ``now`` adds to the river."""
        return FloodWave.under_way(now, self.peak_cm, self.rise_minutes, self.fall_minutes)

    def simulate_args(self) -> list[str]:
        """The ``smartcity simulate`` options that run this wave."""
        return [
            f"--flood-peak={self.peak_cm}",
            f"--flood-rise-minutes={self.rise_minutes}",
            f"--flood-fall-minutes={self.fall_minutes}",
        ]


def faster(config: RiverConfig, speedup: float) -> RiverConfig:
    """``config`` with every gauge's rate rules ``speedup`` times faster (rates
    multiplied, the trend window divided) and its name saying so; levels, people's
    timers (acknowledgement, reminders) and the silence limit are unchanged."""
    return config.model_copy(
        update={
            "gauges": tuple(
                gauge.model_copy(
                    update={
                        "name": f"{gauge.name}, demo rules {speedup:g}x faster",
                        "spike_cm_per_h": gauge.spike_cm_per_h * speedup,
                        "rise_cm_per_h": gauge.rise_cm_per_h * speedup,
                        "rise_window_h": gauge.rise_window_h / speedup,
                    }
                )
                for gauge in config.gauges
            )
        }
    )


def river_rules(settings: Settings, flood: DemoFlood, now: datetime) -> Path | None:
    """The river configuration file for a demo flood starting at ``now``: without
    ``SMARTCITY_RIVER_CONFIG``, the demo gauge's rules :data:`DEMO_SPEEDUP` times faster,
    written to the data directory; with it, None (that file is used as it is).

    Raises InvalidInputError for a wave that cannot be (a peak that is not finite, a
    rise time that is not positive), and FloodTooSteep, naming the remedy, for one that
    would still rise faster than the demo town gauge's spike limit: its readings would
    be flagged.
    """
    wave = flood.wave(now)
    configured = settings.river_config
    config = load(configured) if configured else faster(DEMO, DEMO_SPEEDUP)
    gauge = config.gauge(GAUGE_ASSET_ID)
    if gauge is not None:
        level = DanubeModel.from_seed(settings.seed).level_cm(wave.start)
        steepest = wave.steepest_rise_cm_per_h(level)
        if steepest > gauge.spike_cm_per_h:
            minutes = math.ceil(flood.rise_minutes * steepest / gauge.spike_cm_per_h)
            raise FloodTooSteep(
                f"a flood from {round(level)} to {flood.peak_cm:g} cm in {flood.rise_minutes:g}"
                f" minutes rises at up to {steepest:.0f} cm/h, faster than the limit of"
                f" {gauge.device_id} ({gauge.spike_cm_per_h:g} cm/h): its readings would be"
                f" flagged as impossible. Give --flood-rise-minutes {minutes} or more,"
                " or a lower --flood-peak"
            )
    if configured:
        return None
    path = settings.data_dir / "demo" / RIVER_RULES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(config.model_dump(mode="json")), encoding="utf-8")
    return path


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hub", *args], env=env, process_group=0)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in reversed(children):
        if child.poll() is not None:
            continue
        child.terminate()
        try:
            child.wait(CHILD_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("child %s did not stop; killing it", child.args)
            child.kill()
            child.wait()


def _flood_banner(flood: DemoFlood | None, rules: Path | None) -> str:
    """What the demo says of its flood: when it crests, and which rules judge it."""
    if flood is None:
        return ""
    crest = flood.wave(datetime.now(UTC)).peak_time.astimezone().strftime("%H:%M")
    judged = (
        f"its gauge's rate rules run {DEMO_SPEEDUP:g}x faster to match ({rules}):"
        " a rapid-rise alert within about 5 minutes"
        if rules
        else "judged by the rules of SMARTCITY_RIVER_CONFIG"
    )
    return (
        f"\nDanube flood: rising to {flood.peak_cm:g} cm by {crest}, a minute for an hour"
        f" of a real flood;\n{judged}.\n"
    )


def _wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not port_answers(host, port):
        if time.monotonic() > deadline:
            raise DemoStartError(f"nothing answers on {host}:{port} after {timeout:.0f} s")
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
                raise DemoStartError("a hub process exited during start-up")
            if time.monotonic() > deadline:
                raise DemoStartError(
                    f"the ingestion worker did not subscribe in {START_TIMEOUT_S:.0f} s"
                )
            time.sleep(0.2)


def run_demo(
    settings: Settings,
    stop: threading.Event,
    *,
    flood: DemoFlood | None = None,
    rules: Path | None = None,
) -> int:
    """Run the demo until ``stop`` is set or a child dies; return an exit code. With a
    ``flood``, its simulator runs that wave, and ``rules`` (:func:`river_rules`) is the
    river configuration of the monitor and the API."""
    children: list[subprocess.Popen[bytes]] = []
    with ExitStack() as stack:
        url = stack.enter_context(database_url(settings))
        if not demo_loaded(url, settings.seed):
            load_demo_town(url, settings.data_dir / "demo", settings.seed)
        with connect(url) as conn:
            fill_demo_history(
                conn,
                settings.seed,
                datetime.now(UTC),
                settings.data_dir / "demo" / "carbon",
                table_from(settings.carbon_factors_file),
            )
        signers = demo_accounts(url, settings.data_dir / "demo")
        env = {**os.environ, "SMARTCITY_DATABASE_URL": url}
        if rules is not None:
            env["SMARTCITY_RIVER_CONFIG"] = str(rules)
        stack.callback(_stop, children)
        if settings.mqtt_url:
            mqtt_url = settings.mqtt_url
        else:
            port = free_port()
            children.append(_spawn(["broker", "--port", str(port)], env))
            mqtt_url = f"mqtt://127.0.0.1:{port}"
            env["SMARTCITY_MQTT_PROTOCOL"] = settings.mqtt_protocol
        wait_for_broker(
            mqtt_url,
            START_TIMEOUT_S,
            settings.mqtt_protocol,
            client_id=settings.client_id("probe"),
            ca_file=settings.mqtt_ca_file,
        )
        address = BrokerAddress(mqtt_url)
        env["SMARTCITY_MQTT_URL"] = mqtt_url
        simulate_args = ["simulate", *(flood.simulate_args() if flood else [])]
        spawned_at = datetime.now(UTC)
        children.append(_spawn(["ingest"], env))
        _wait_for_subscription(url, settings.ingest_client_id, spawned_at, children)
        children.append(_spawn(["river"], env))
        children.append(_spawn(simulate_args, env))
        children.append(_spawn(["serve"], env))
        _wait_for_port(settings.http_host, settings.http_port, START_TIMEOUT_S)
        base = f"http://{settings.http_host}:{settings.http_port}"
        print(_flood_banner(flood, rules), end="")
        print(
            "\nSmart-city hub demo is running (Ctrl-C stops it):\n"
            f"  map          {base}/map\n"
            f"  API docs     {base}/docs\n"
            f"  layers       {base}/collections\n"
            f"  devices      {base}/devices\n"
            f"  Danube       {base}/river/gauges, {base}/river/alerts, {base}/river/flood\n"
            f"  MQTT broker  {address.host}:{address.port}"
            f" (topics {settings.topic_prefix}/devices/+/senml|json, docs/mqtt.md)\n"
            f"  database     {url}\n"
            f"\nSign in at {base}/auth/login (or POST {base}/auth/token) as one of:\n"
            + "".join(f"  {role:<17}{name:<24}{password}\n" for role, name, password in signers)
            + f"(kept in {settings.data_dir / 'demo' / DEMO_ACCOUNTS}; layers, gauges and the"
            " flood are public)\n",
            flush=True,
        )
        while not stop.wait(1.0):
            dead = [c for c in children if c.poll() is not None]
            if dead:
                log.error("%s exited with %s; stopping the demo", dead[0].args, dead[0].returncode)
                return 1
    return 0
