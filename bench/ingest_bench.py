"""Ingestion throughput and latency, side by side with a bare paho subscriber and a naive writer.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, Mosquitto binary installed):

    .venv/bin/python bench/ingest_bench.py --messages 100000 --packs 4000

Each throughput phase first queues its messages in a private, tuned Mosquitto (the
consumer's persistent session is offline), then starts the consumer and times the
drain: from the first message seen (or row stored) to the last. That separates what
the consumer sustains from what one Python publisher can produce on this machine.
Latency is measured live: publishers send at half our measured rate while a probe
device publishes its wall-clock time every 20 ms and a poller reads it back from the
database.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proc_cpu import cpu_seconds  # noqa: E402
from support import (  # noqa: E402
    PREFIX,
    RECEIVE_MAXIMUM,
    mqtt_client,
    start_mosquitto,
    start_workers,
    stop,
)

from storage import devices, migrations  # noqa: E402
from storage.partitions import PartitionKeeper  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEVICES = 500


def create_session(port: int, client_id: str, topic: str) -> None:
    """Make the broker queue ``topic`` for ``client_id`` while it is offline."""
    c = mqtt_client(port, client_id, persistent=True)
    done = threading.Event()
    c.on_subscribe = lambda *_: done.set()
    c.loop_start()
    c.subscribe(topic, qos=1)
    done.wait(10)
    c.disconnect()
    c.loop_stop()


def _json_payload(i: int, t0: datetime) -> bytes:
    t = (t0 + timedelta(microseconds=i)).isoformat().replace("+00:00", "Z")
    return b'{"time": "%s", "values": {"water_level": %d}}' % (t.encode(), 100 + i % 400)


def _senml_payload(i: int, t0: datetime, records: int) -> bytes:
    base = (t0 + timedelta(seconds=i)).timestamp()
    pack = [{"bn": "", "bt": base, "bu": "cm", "n": "water_level", "v": 100 + i % 400}]
    pack += [
        {"n": "water_level", "t": k * 0.001, "v": 100 + (i + k) % 400} for k in range(1, records)
    ]
    return json.dumps(pack).encode()


def publish_worker(port: int, kind: str, start: int, count: int, t0_iso: str) -> None:
    """Publish ``count`` messages at full speed (QoS 1), keeping under 65k in flight."""
    t0 = datetime.fromisoformat(t0_iso)
    c = mqtt_client(port, f"pub-{uuid.uuid4().hex[:8]}", inflight=2000)
    c.loop_start()
    window = []
    for i in range(start, start + count):
        device = f"bench-{i % DEVICES}"
        if kind == "json":
            topic, payload = f"{PREFIX}/devices/{device}/json", _json_payload(i, t0)
        else:
            topic, payload = f"{PREFIX}/devices/{device}/senml", _senml_payload(i, t0, 50)
        window.append(c.publish(topic, payload, qos=1))
        if len(window) >= 20_000:
            window[10_000].wait_for_publish(120)
            window = window[10_001:]
    if window:
        window[-1].wait_for_publish(300)
    c.disconnect()
    c.loop_stop()


def preload(port: int, kind: str, total: int, publishers: int = 2) -> float:
    """Queue ``total`` messages with parallel publishers; return their publish rate."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=hash(kind) % 100)
    share = total // publishers
    started = time.perf_counter()
    procs = [
        mp.Process(target=publish_worker, args=(port, kind, k * share, share, t0.isoformat()))
        for k in range(publishers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return share * publishers / (time.perf_counter() - started)


def drain_with_paho(
    port: int, client_id: str, expected: int, handle: Callable[[mqtt.MQTTMessage], None]
) -> float:
    """Messages/s a paho client (auto-ack) takes ``expected`` queued messages, each handled."""
    times: list[float] = []
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        handle(m)
        times.append(time.perf_counter())
        if len(times) >= expected:
            done.set()

    c = mqtt_client(port, client_id, persistent=True)
    c.on_message = on_message
    c.loop_start()
    done.wait(900)
    c.disconnect()
    c.loop_stop()
    return len(times) / (times[-1] - times[0])


def bare_subscriber(port: int, expected: int, topic: str) -> float:
    """Messages/s a bare paho subscriber (auto-ack) drains from a preloaded session."""
    create_session(port, "bare-subscriber", topic)
    publishers_rate = preload(port, "json", expected)
    print(f"  publishers queued {publishers_rate:,.0f} msg/s")
    return drain_with_paho(port, "bare-subscriber", expected, lambda _m: None)


def bare_c_subscriber(port: int, expected: int, topic: str) -> float:
    """Messages/s Mosquitto delivers to its own C client (mosquitto_sub), connect included."""
    args = ["mosquitto_sub", "-p", str(port), "-i", "c-subscriber", "-c", "-q", "1", "-t", topic]
    args += ["-V", "5", "-x", "3600"]
    subprocess.run([*args, "-E"], check=True)  # create the session, then leave
    preload(port, "json", expected)
    started = time.perf_counter()
    subprocess.run([*args, "-C", str(expected)], stdout=subprocess.DEVNULL, check=True)
    return expected / (time.perf_counter() - started)


def bare_gmqtt_subscriber(port: int, expected: int, topic: str) -> float:
    """Messages/s a bare gmqtt subscriber (acknowledging on receipt) drains."""
    import asyncio

    import gmqtt

    async def session(drain: bool) -> float:
        got = 0
        first = 0.0
        done = asyncio.Event()

        def on_message(*_args: object) -> int:
            nonlocal got, first
            if got == 0:
                first = time.perf_counter()
            got += 1
            if got >= expected:
                done.set()
            return 0

        c = gmqtt.Client(
            "gmqtt-subscriber",
            clean_session=False,
            session_expiry_interval=3600,
            receive_maximum=RECEIVE_MAXIMUM,
        )
        c.on_message = on_message
        await c.connect("127.0.0.1", port)
        if not drain:
            c.subscribe(topic, qos=1)
            await asyncio.sleep(0.5)
        else:
            await asyncio.wait_for(done.wait(), 600)
        await c.disconnect()
        return got / (time.perf_counter() - first) if drain else 0.0

    asyncio.run(session(False))
    preload(port, "json", expected)
    return asyncio.run(session(True))


def fresh_database() -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        # the naive baseline inserts directly: give it the months the bench writes to
        PartitionKeeper().ensure_months(conn, [date(2026, m, 1) for m in range(1, 13)])
        devices.register(
            conn,
            [devices.Device(f"bench-{i}", "river_gauge", ("water_level",)) for i in range(DEVICES)]
            + [devices.Device("lat-probe", "river_gauge", ("water_level",))],
        )
    return url


def drop_database(url: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]


def stored(metrics_ports: list[int]) -> int:
    """Readings the workers have committed, from their own counters (no database query)."""
    total = 0
    for port in metrics_ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
                text = page.read().decode()
        except OSError:  # not listening yet
            continue
        for family in text_string_to_metric_families(text):
            if family.name == "smartcity_ingest_stored_readings":
                total += int(sum(sample.value for sample in family.samples))
    return total


def postgres_pids() -> list[int]:
    return [
        int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit() and _comm(d) == "postgres"
    ]


def _comm(proc_dir: Path) -> str:
    try:
        return (proc_dir / "comm").read_text().strip()
    except OSError:
        return ""


@dataclass
class Drain:
    """A drain's rate and the CPU each party spent per row meanwhile, in microseconds."""

    rows_per_s: float
    cpu_us_per_row: dict[str, float]


def drain(
    metrics_ports: list[int],
    expected: int,
    parties: dict[str, Callable[[], list[int]]],
    timeout: float = 600,
) -> Drain:
    """Rows/s from the first committed row to the last, polling the workers' counters,
    and the CPU time each party's processes (listed at the first row) spent meanwhile.

    Polling ``count(*)`` instead cost PostgreSQL up to half a core on a million rows,
    taken from the system under test.
    """
    first: tuple[float, int, dict[str, float]] | None = None
    pids: dict[str, list[int]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = stored(metrics_ports)
        now = time.perf_counter()
        if n and first is None:
            pids = {k: list_pids() for k, list_pids in parties.items()}
            first = (now, n, {k: cpu_seconds(p) for k, p in pids.items()})
        if n >= expected:
            assert first is not None
            spent = {k: cpu_seconds(p) - first[2][k] for k, p in pids.items()}
            done = n - first[1]
            return Drain(
                done / (now - first[0]) if now > first[0] else float("nan"),
                {k: round(v / done * 1e6, 2) for k, v in spent.items()} if done else {},
            )
        time.sleep(0.05)
    raise TimeoutError(f"only {stored(metrics_ports)} of {expected} rows after {timeout} s")


def ours(
    port: int,
    broker_pid: int,
    workdir: Path,
    kind: str,
    messages: int,
    expected_rows: int,
    workers: int = 1,
    extra: dict[str, str] | None = None,
) -> Drain:
    """Rows/s our worker(s) commit draining a preloaded session, and the CPU it took."""
    url = fresh_database()
    group = {"SMARTCITY_INGEST_CLIENT_ID": f"ingest-{uuid.uuid4().hex[:6]}"}
    # One offline session per worker: a plain subscription for one worker, a shared
    # group of this phase's own for several (an earlier phase's offline sessions in the
    # same group would keep receiving their share until their sessions expire).
    group["SMARTCITY_INGEST_SHARED_GROUP"] = "" if workers == 1 else f"g{uuid.uuid4().hex[:6]}"
    env_extra = {**group, **(extra or {})}
    try:
        procs, _ = start_workers(port, url, workdir, workers, env_extra)
        time.sleep(3)  # sessions created and subscribed
        stop(procs)
        preload(port, kind, messages)
        procs, metrics_ports = start_workers(port, url, workdir, workers, env_extra)
        parties: dict[str, Callable[[], list[int]]] = {
            "workers": lambda: [p.pid for p in procs],
            "postgres": postgres_pids,
            "mosquitto": lambda: [broker_pid],
        }
        try:
            result = drain(metrics_ports, expected_rows, parties)
        finally:
            stop(procs)
        assert rows(url) == expected_rows, f"{rows(url)} rows, expected {expected_rows}"
        return result
    finally:
        drop_database(url)


def naive(port: int, expected: int) -> float:
    """One INSERT and one commit per message: the baseline."""
    url = fresh_database()
    try:
        client_id = "naive-subscriber"
        create_session(port, client_id, f"{PREFIX}/devices/+/json")
        preload(port, "json", expected)
        conn = psycopg.connect(url, autocommit=True)

        def insert(m: mqtt.MQTTMessage) -> None:
            doc = json.loads(m.payload)
            device = m.topic.split("/")[2]
            for quantity, value in doc["values"].items():
                conn.execute(
                    "INSERT INTO readings (device_id, quantity, time, value)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (device, quantity, doc["time"], value),
                )

        try:
            return drain_with_paho(port, client_id, expected, insert)
        finally:
            conn.close()
    finally:
        drop_database(url)


def latency(
    port: int, workdir: Path, rate: float, seconds: float, workers: int = 1
) -> tuple[float, float, int]:
    """p50 and p99 publish-to-queryable latency (ms) at ``rate`` messages/s."""
    url = fresh_database()
    procs, _ = start_workers(
        port,
        url,
        workdir,
        workers,
        {
            "SMARTCITY_INGEST_CLIENT_ID": f"lat-{uuid.uuid4().hex[:6]}",
            "SMARTCITY_INGEST_SHARED_GROUP": "" if workers == 1 else f"lat{uuid.uuid4().hex[:6]}",
        },
    )
    try:
        time.sleep(3)
        stop_flag = mp.Event()
        loaders = [
            mp.Process(target=_paced_publisher, args=(port, rate / 2, seconds, k)) for k in range(2)
        ]
        for p in loaders:
            p.start()
        samples: list[float] = []
        probe = mqtt_client(port, "probe")
        probe.loop_start()
        seen: datetime | None = None
        poll = psycopg.connect(url, autocommit=True)
        end = time.monotonic() + seconds
        next_probe = 0.0
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_probe:
                stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                probe.publish(
                    f"{PREFIX}/devices/lat-probe/json",
                    b'{"time": "%s", "values": {"water_level": 1}}' % stamp.encode(),
                    qos=1,
                )
                next_probe = now + 0.02
            latest = poll.execute(
                "SELECT time FROM latest_readings WHERE device_id = 'lat-probe'"
            ).fetchone()
            if latest and latest[0] != seen:
                seen = latest[0]
                samples.append((datetime.now(UTC) - seen).total_seconds() * 1000)
            time.sleep(0.002)
        stop_flag.set()
        for p in loaders:
            p.join()
        probe.disconnect()
        probe.loop_stop()
        poll.close()
        samples.sort()
        return (statistics.median(samples), samples[int(len(samples) * 0.99) - 1], len(samples))
    finally:
        stop(procs)
        drop_database(url)


def _paced_publisher(port: int, rate: float, seconds: float, k: int) -> None:
    c = mqtt_client(port, f"load-{k}-{uuid.uuid4().hex[:6]}", inflight=2000)
    c.loop_start()
    t0 = datetime.now(UTC) - timedelta(days=1 + k)
    start = time.perf_counter()
    i = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * rate)
        while i < due:
            c.publish(f"{PREFIX}/devices/bench-{i % DEVICES}/json", _json_payload(i, t0), qos=1)
            i += 1
        time.sleep(0.001)
    c.disconnect()
    c.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--packs", type=int, default=20_000)
    parser.add_argument("--naive-messages", type=int, default=10_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument(
        "--latency-rate", type=float, help="msg/s for the latency phase (default: half our best)"
    )
    args = parser.parse_args()
    results: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores",
        "when": datetime.now(UTC).isoformat(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        broker, port = start_mosquitto(workdir)
        try:
            topic = f"{PREFIX}/devices/+/json"
            for name, bare in (
                ("bare", bare_subscriber),
                ("bare_gmqtt", bare_gmqtt_subscriber),
                ("bare_c", bare_c_subscriber),
            ):
                if name not in args.skip:
                    print(f"{name} subscriber ...", flush=True)
                    results[f"{name}_msgs_per_s"] = bare(port, args.messages, topic)
                    print(f"  {results[f'{name}_msgs_per_s']:,.0f} msg/s", flush=True)
            for method in ("copy", "unnest"):
                if method in args.skip:
                    continue
                print(f"ours, single-reading JSON, write method {method} ...", flush=True)
                result = ours(
                    port,
                    broker.pid,
                    workdir,
                    "json",
                    args.messages,
                    args.messages,
                    args.workers,
                    {"SMARTCITY_INGEST_WRITE_METHOD": method},
                )
                results[f"ours_{method}_msgs_per_s"] = result.rows_per_s
                results[f"ours_{method}_cpu_us_per_msg"] = result.cpu_us_per_row
                print(f"  {result.rows_per_s:,.0f} msg/s; CPU µs/msg {result.cpu_us_per_row}")
            if "senml" not in args.skip:
                print("ours, SenML packs of 50 ...", flush=True)
                result = ours(
                    port, broker.pid, workdir, "senml", args.packs, args.packs * 50, args.workers
                )
                results["ours_senml_readings_per_s"] = result.rows_per_s
                results["ours_senml_cpu_us_per_reading"] = result.cpu_us_per_row
                print(f"  {result.rows_per_s:,.0f} readings/s; CPU µs each {result.cpu_us_per_row}")
            if "naive" not in args.skip:
                print("naive baseline (INSERT + commit per message) ...", flush=True)
                results["naive_msgs_per_s"] = naive(port, args.naive_messages)
                print(f"  {results['naive_msgs_per_s']:,.0f} msg/s", flush=True)
            best = max(
                float(results.get(f"ours_{m}_msgs_per_s", 0))  # type: ignore[arg-type]
                for m in ("copy", "unnest")
            )
            rate = args.latency_rate or best / 2
            if "latency" not in args.skip and rate:
                print(f"latency at {rate:,.0f} msg/s ...", flush=True)
                p50, p99, n = latency(port, workdir, rate, args.latency_seconds, args.workers)
                results |= {
                    "latency_rate": rate,
                    "latency_p50_ms": p50,
                    "latency_p99_ms": p99,
                    "latency_samples": n,
                }
                print(f"  p50 {p50:.0f} ms, p99 {p99:.0f} ms ({n} samples)", flush=True)
        finally:
            broker.terminate()
            broker.wait()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
