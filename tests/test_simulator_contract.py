"""What the simulator publishes is what the ingestion worker accepts, with no dead letter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.simulate import lot_profile
from ingest_mqtt.decode import Incoming, decode
from simulator.engine import DEVICE_QUANTITIES, SimDevice, Simulator


def test_every_simulated_message_decodes_cleanly() -> None:
    devices = [
        SimDevice(
            "gauge-tr-magurele",
            "river_gauge",
            "gauge-tr-magurele",
            DEVICE_QUANTITIES["river_gauge"],
        ),
        SimDevice("aq-tr-2", "air_quality", "aq-tr-2", DEVICE_QUANTITIES["air_quality"]),
        *(
            SimDevice(
                f"lot-piata-b{i:03d}",
                "parking_bay",
                "lot-piata",
                ("occupied",),
                lot_profile("lot-piata"),
            )
            for i in range(20)
        ),
        SimDevice(
            "lot-piata-counter",
            "parking_counter",
            "lot-piata",
            ("occupied_spaces",),
            lot_profile("lot-piata"),
        ),
    ]
    registry = {d.device_id: frozenset(d.quantities) for d in devices}
    simulator = Simulator(devices, seed=7, topic_prefix="city")
    start = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    messages = [
        Incoming(m.topic, m.payload, 0, 1, start + timedelta(seconds=s))
        for s in range(0, 3600, 5)
        for m in simulator.tick(start + timedelta(seconds=s))
    ]
    decoded = decode(messages, "city", registry.get)
    assert decoded.dead_letters == []
    assert {r.device_id for r in decoded.readings} == set(registry)
    assert lot_profile("lot-piata") == "market" and lot_profile(None) == "centre"
