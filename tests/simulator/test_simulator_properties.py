"""Property tests: any increasing sequence of tick times gives valid, finite payloads."""

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine import DEVICE_QUANTITIES, Message, SimDevice, Simulator
from simulator.signals import FloodWave

DEVICES = [
    SimDevice("gauge", "river_gauge", "danube", DEVICE_QUANTITIES["river_gauge"]),
    SimDevice("aq", "air_quality", "TR-2", DEVICE_QUANTITIES["air_quality"]),
    SimDevice("counter", "parking_counter", "lot", ("occupied_spaces",), "stadium"),
    *(SimDevice(f"bay-{i}", "parking_bay", "lot", ("occupied",), "stadium") for i in range(5)),
]

zones = st.sampled_from(
    [
        UTC,
        ZoneInfo("Europe/Bucharest"),
        timezone(timedelta(hours=-11)),
        timezone(timedelta(hours=14)),
    ]
)
starts = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2090, 1, 1), timezones=zones
)
steps = st.lists(
    st.one_of(
        st.floats(min_value=0.0, max_value=5.0),
        st.floats(min_value=0.0, max_value=4e7),  # up to about 15 months
    ),
    min_size=1,
    max_size=40,
)
floods = st.none() | st.builds(
    lambda peak, rise, fall: (peak, rise, fall),
    st.floats(min_value=-200, max_value=1500),
    st.floats(min_value=0.01, max_value=2000),
    st.floats(min_value=0.01, max_value=5000),
)


def reject_constant(name: str) -> float:
    raise AssertionError(f"non-finite number {name} in payload")


def check(message: Message, now: datetime) -> None:
    document = json.loads(message.payload, parse_constant=reject_constant)
    stamp = datetime.fromisoformat(document["time"])
    assert abs(stamp.timestamp() - now.timestamp()) < 0.001
    for value in document["values"].values():
        assert isinstance(value, int | float) and math.isfinite(value)


@settings(max_examples=60, deadline=None)
@given(start=starts, gaps=steps, seed=st.integers(0, 2**63), flood=floods)
def test_tick_never_raises_and_gives_finite_numbers(
    start: datetime, gaps: list[float], seed: int, flood: tuple[float, float, float] | None
) -> None:
    wave = None if flood is None else FloodWave(flood[0], start, flood[1], flood[2])
    sim = Simulator(DEVICES, seed=seed, flood=wave)
    replay = Simulator(DEVICES, seed=seed, flood=wave)
    first = sim.tick(start)
    assert len(first) == len(DEVICES)
    assert first == replay.tick(start)
    instant = start.astimezone(UTC)
    for gap in gaps:
        # Step in UTC: wall-clock arithmetic in a zone with DST can step back an hour.
        instant += timedelta(seconds=gap)
        now = instant.astimezone(start.tzinfo)
        messages = sim.tick(now)
        assert messages == replay.tick(now)
        for message in messages:
            check(message, now)
