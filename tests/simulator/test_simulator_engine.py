"""The tick engine: topics and payloads, schedules, counters, determinism, cost."""

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from simulator.engine import Intervals, Message, SimDevice, Simulator
from simulator.errors import InvalidInputError
from simulator.signals import FloodWave

T0 = datetime(2024, 5, 15, 6, 0, tzinfo=UTC)  # a Wednesday, 09:00 in Turnu Măgurele


def town(bays_per_lot: int = 12) -> list[SimDevice]:
    devices = [
        SimDevice("gauge-trm", "river_gauge", "danube-trm", ("water_level", "water_temperature")),
        SimDevice("aq-tr2", "air_quality", "TR-2", ("pm25", "pm10", "no2", "o3")),
        SimDevice("aq-tr3", "air_quality", "TR-3", ("no2", "o3")),
    ]
    for lot, kind in (("lot-centre", "centre"), ("lot-market", "market")):
        devices.append(
            SimDevice(f"{lot}-counter", "parking_counter", lot, ("occupied_spaces",), kind)
        )
        devices += [
            SimDevice(f"{lot}-bay-{i}", "parking_bay", lot, ("occupied",), kind)
            for i in range(bays_per_lot)
        ]
    return devices


def decode(message: Message) -> tuple[str, datetime, dict[str, float]]:
    prefix, devices, device_id, suffix = message.topic.split("/")
    assert (prefix, devices, suffix) == ("city", "devices", "json")
    document = json.loads(message.payload)
    assert set(document) == {"time", "values"}
    assert document["time"].endswith("Z")
    return device_id, datetime.fromisoformat(document["time"]), document["values"]


def run(sim: Simulator, times: Iterable[datetime]) -> list[list[Message]]:
    return [sim.tick(t) for t in times]


def seconds(n: int, start: datetime = T0) -> list[datetime]:
    return [start + timedelta(seconds=s) for s in range(n)]


def test_first_tick_publishes_every_device_once_with_valid_payloads() -> None:
    devices = town()
    messages = Simulator(devices).tick(T0)
    assert [m.topic for m in messages] == [f"city/devices/{d.device_id}/json" for d in devices]
    for device, message in zip(devices, messages, strict=True):
        device_id, stamp, values = decode(message)
        assert device_id == device.device_id
        assert stamp == T0
        assert tuple(values) == device.quantities
        assert all(isinstance(v, int | float) for v in values.values())
        if device.kind == "parking_bay":
            assert values["occupied"] in (0, 1)
    compact = messages[0].payload.decode()
    assert " " not in compact and compact.startswith('{"time":"2024-05-15T06:00:00.000Z"')


def test_payload_time_is_utc_whatever_the_zone_of_now() -> None:
    local_now = T0.astimezone(ZoneInfo("Europe/Bucharest"))
    message = Simulator(town()).tick(local_now)[0]
    assert decode(message)[1] == T0
    assert b'"time":"2024-05-15T06:00:00.000Z"' in message.payload


def test_topic_prefix_is_used() -> None:
    messages = Simulator(town(), topic_prefix="tm/city").tick(T0)
    assert all(m.topic.startswith("tm/city/devices/") for m in messages)


def test_periodic_devices_follow_their_intervals() -> None:
    sim = Simulator(town(), intervals=Intervals(river_gauge=10, air_quality=15, parking_counter=20))
    ticks = run(sim, seconds(601))
    count: dict[str, int] = {}
    for batch in ticks[1:]:
        for m in batch:
            device_id = m.topic.split("/")[2]
            count[device_id] = count.get(device_id, 0) + 1
    assert count["gauge-trm"] == 60
    assert count["aq-tr2"] == count["aq-tr3"] == 40
    assert count["lot-centre-counter"] == 30


def test_each_bay_sends_a_heartbeat_within_the_period() -> None:
    devices = town()
    sim = Simulator(devices, intervals=Intervals(parking_bay_heartbeat=300))
    ticks = run(sim, seconds(1201))
    last_seen = {d.device_id: 0 for d in devices if d.kind == "parking_bay"}
    for k, batch in enumerate(ticks):
        for m in batch:
            last_seen[m.topic.split("/")[2]] = k
        if k:
            assert all(k - seen <= 300 for seen in last_seen.values())


def test_a_long_gap_gives_one_message_per_periodic_device() -> None:
    sim = Simulator(town())
    sim.tick(T0)
    batch = sim.tick(T0 + timedelta(days=2))
    ids = [m.topic.split("/")[2] for m in batch]
    assert len(ids) == len(set(ids))
    assert {"gauge-trm", "aq-tr2", "aq-tr3", "lot-centre-counter", "lot-market-counter"} <= set(ids)
    assert all(decode(m)[1] == T0 + timedelta(days=2) for m in batch)


def test_counter_equals_the_occupied_bays_last_published() -> None:
    devices = town(bays_per_lot=40)
    lot_of = {d.device_id: d.asset_id for d in devices}
    sim = Simulator(devices, seed=3)
    published: dict[str, int] = {}
    checked = 0
    # Irregular steps over a working day, so bays fill and empty.
    t = T0 - timedelta(hours=5)
    for k in range(1500):
        t += timedelta(seconds=1 + (k * 7) % 23)
        batch = [decode(m) for m in sim.tick(t)]
        # Within a tick, messages come in device order; compare whole ticks.
        for device_id, _, values in batch:
            if "occupied" in values:
                published[device_id] = int(values["occupied"])
        for device_id, _, values in batch:
            if "occupied_spaces" in values:
                lot = lot_of[device_id]
                expected = sum(v for d, v in published.items() if lot_of[d] == lot)
                assert values["occupied_spaces"] == expected
                checked += 1
    assert checked > 300
    assert len(set(published.values())) == 2  # both states were seen


def test_determinism_same_seed_same_messages_other_seed_other_messages() -> None:
    flood = FloodWave(620.0, T0, rise_hours=48, fall_hours=160)
    times = [T0 + timedelta(seconds=17 * k) for k in range(400)]
    first = run(Simulator(town(), seed=8, flood=flood), times)
    again = run(Simulator(town(), seed=8, flood=flood), times)
    other = run(Simulator(town(), seed=9, flood=flood), times)
    assert first == again
    assert first != other


def test_flood_wave_reaches_the_gauge_payload() -> None:
    flood = FloodWave(640.0, T0, rise_hours=24, fall_hours=96)
    sim = Simulator([town()[0]], flood=flood)
    sim.tick(T0)
    _, _, values = decode(sim.tick(flood.peak_time)[0])
    assert values["water_level"] == 640


def test_time_must_not_go_backwards_and_must_be_aware() -> None:
    sim = Simulator(town())
    sim.tick(T0)
    assert all(m.topic for m in sim.tick(T0))  # the same instant is allowed
    with pytest.raises(InvalidInputError, match="backwards"):
        sim.tick(T0 - timedelta(seconds=1))
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        Simulator(town()).tick(datetime(2024, 5, 15, 6))


BAY = SimDevice("bay-1", "parking_bay", "lot-1", ("occupied",), "centre")


@pytest.mark.parametrize(
    ("devices", "match"),
    [
        ([BAY, BAY], "used twice"),
        ([SimDevice("x", "weather", "a", ("t",))], "kind"),
        ([SimDevice("g", "river_gauge", "d", ("occupied",))], "reports"),
        ([SimDevice("g", "river_gauge", "d", ())], "reports"),
        ([SimDevice("g/1", "river_gauge", "d", ("water_level",))], "device_id"),
        ([SimDevice("b", "parking_bay", "lot", ("occupied",))], "lot_kind"),
        ([SimDevice("b", "parking_bay", "lot", ("occupied",), "mall")], "lot_kind"),
        ([SimDevice("g", "river_gauge", "d", ("water_level",), "centre")], "lot_kind"),
        (
            [BAY, SimDevice("c", "parking_counter", "lot-1", ("occupied_spaces",), "market")],
            "same one",
        ),
        (
            [SimDevice("c", "parking_counter", "lot-9", ("occupied_spaces",), "centre")],
            "no parking_bay",
        ),
    ],
)
def test_bad_devices_are_refused_with_a_hint(devices: list[SimDevice], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        Simulator(devices)


@pytest.mark.parametrize("kwargs", [{"topic_prefix": "city/#"}, {"topic_prefix": ""}, {"seed": -1}])
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        Simulator([BAY], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("period", [0, -10.0, float("inf"), float("nan")])
def test_bad_intervals_are_refused(period: float) -> None:
    with pytest.raises(InvalidInputError, match="positive number of seconds"):
        Intervals(river_gauge=period)
