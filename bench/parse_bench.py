"""CPU cost of decoding payloads and of a simulator tick (no I/O), best of several runs.

.venv/bin/python bench/parse_bench.py
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest_mqtt.decode import Incoming, decode  # noqa: E402
from simulator.engine import DEVICE_QUANTITIES, SimDevice, Simulator  # noqa: E402

NOW = datetime.now(UTC)
REGISTRY = {f"gauge-{k}": frozenset({"water_level", "water_temperature"}) for k in range(100)}


def _pack(k: int) -> bytes:
    records: list[dict[str, object]] = [
        {"bn": f"urn:dev:id:gauge-{k % 100}:", "bt": NOW.timestamp() - 3600 - k, "bu": "cm"}
    ]
    for i in range(50):
        if i % 2:
            records.append({"n": "water_temperature", "u": "Cel", "t": i * 60, "v": 7.5})
        else:
            records.append({"n": "water_level", "t": i * 60, "v": 300 + i})
    records[0].update(records.pop(1))
    return json.dumps(records).encode()


def best_of(runs: int, func) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    packs = [
        Incoming(f"city/devices/gauge-{k % 100}/senml", _pack(k), k, 1, NOW) for k in range(2000)
    ]
    seconds = best_of(5, lambda: decode(packs, "city", REGISTRY.get))
    print(
        f"SenML packs of 50: {seconds / len(packs) * 1e6:.0f} µs per pack,"
        f" {seconds / (len(packs) * 50) * 1e6:.1f} µs per record"
    )
    singles = [
        Incoming(
            f"city/devices/gauge-{k % 100}/json",
            b'{"time": "%s", "values": {"water_level": %d}}'
            % ((NOW - timedelta(seconds=k)).isoformat().encode(), 300 + k % 50),
            k,
            1,
            NOW,
        )
        for k in range(20000)
    ]
    seconds = best_of(5, lambda: decode(singles, "city", REGISTRY.get))
    print(f"compact JSON, one reading: {seconds / len(singles) * 1e6:.1f} µs per message")
    kinds = ["centre", "market", "hospital", "station", "port", "stadium"]
    devices = [
        SimDevice(f"bay-{lot}-{b}", "parking_bay", f"lot-{lot}", ("occupied",), kinds[lot % 6])
        for lot in range(30)
        for b in range(30)
    ]
    devices += [
        SimDevice(
            f"count-{lot}", "parking_counter", f"lot-{lot}", ("occupied_spaces",), kinds[lot % 6]
        )
        for lot in range(30)
    ]
    devices += [
        SimDevice(f"aq-{s}", "air_quality", f"TR-{s}", DEVICE_QUANTITIES["air_quality"])
        for s in range(70)
    ]
    sim = Simulator(devices)
    sim.tick(NOW)
    ticks = [NOW + timedelta(seconds=s) for s in range(1, 601)]
    seconds = best_of(1, lambda: [sim.tick(t) for t in ticks])
    print(f"simulator, {len(devices)} devices: {seconds / len(ticks) * 1e3:.2f} ms per 1 s tick")


if __name__ == "__main__":
    main()
