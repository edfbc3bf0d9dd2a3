"""The tick engine: which simulated devices publish at a given time, and what.

Periodic devices (river gauges, air-quality stations, lot counters) report on a
grid of their own period, staggered per device so that a thousand devices do not
all report in the same second. Parking bays report when their state changes and
send a heartbeat when they have been silent for the heartbeat period. Each device
publishes at most once per tick, with values sampled at the tick's time: a tick
after a long gap stands for the devices' latest reports, not a replay of the gap.

Per-tick work on the bays is vectorised with numpy; only the devices due at a tick
are visited in Python, which keeps a tick of a thousand devices well under a
millisecond.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from simulator.bays import BayChains
from simulator.clock import require_aware
from simulator.errors import InvalidInputError
from simulator.lot_demand import LotDemand
from simulator.payloads import check_topic_level, check_topic_prefix, device_topic, encode_payload
from simulator.signals import (
    LOT_PROFILES,
    AirQualityModel,
    DanubeModel,
    FloodWave,
    Station,
    seeded_rng,
)

RIVER_GAUGE = "river_gauge"
PARKING_BAY = "parking_bay"
PARKING_COUNTER = "parking_counter"
AIR_QUALITY = "air_quality"

DEVICE_QUANTITIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        RIVER_GAUGE: ("water_level", "water_temperature"),
        PARKING_BAY: ("occupied",),
        PARKING_COUNTER: ("occupied_spaces",),
        AIR_QUALITY: ("pm25", "pm10", "no2", "o3"),
    }
)
"""The quantities each kind of device can report: gauge level in whole cm on the
staff gauge (may be negative) and water temperature in °C to 0.1; bay state 0/1;
occupied bays of a lot; air concentrations in µg/m³ to 0.1."""

_PARKING_KINDS = (PARKING_BAY, PARKING_COUNTER)


@dataclass(frozen=True)
class SimDevice:
    """One simulated device and the asset it measures."""

    device_id: str
    kind: str
    """One of the keys of DEVICE_QUANTITIES."""
    asset_id: str
    """The gauge, lot or station; bays and counters of one lot share it."""
    quantities: tuple[str, ...]
    """What the device reports, a subset of DEVICE_QUANTITIES[kind], in payload order."""
    lot_kind: str | None = None
    """The LOT_PROFILES key of the lot, for parking devices only."""


@dataclass(frozen=True)
class Message:
    """An MQTT message to publish."""

    topic: str
    payload: bytes


@dataclass(frozen=True)
class Intervals:
    """Reporting periods in seconds, per kind of device."""

    river_gauge: float = 10.0
    air_quality: float = 15.0
    parking_counter: float = 10.0
    parking_bay_heartbeat: float = 300.0
    """A bay that has not changed state for this long reports its state anyway."""

    def __post_init__(self) -> None:
        """Refuse periods that are not positive and finite."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InvalidInputError(
                    f"Intervals.{f.name} must be a positive number of seconds, got {value!r}"
                )


def _check_devices(devices: Sequence[SimDevice]) -> None:
    """Raise InvalidInputError, saying what to fix, for the first bad device."""
    seen: set[str] = set()
    lot_kinds: dict[str, str | None] = {}
    for d in devices:
        check_topic_level("SimDevice.device_id", d.device_id)
        if d.device_id in seen:
            raise InvalidInputError(f"device_id {d.device_id!r} is used twice; make it unique")
        seen.add(d.device_id)
        if d.kind not in DEVICE_QUANTITIES:
            raise InvalidInputError(
                f"device {d.device_id!r} has kind {d.kind!r}; "
                f"use one of {sorted(DEVICE_QUANTITIES)}"
            )
        allowed = DEVICE_QUANTITIES[d.kind]
        if (
            not d.quantities
            or len(set(d.quantities)) != len(d.quantities)
            or not set(d.quantities) <= set(allowed)
        ):
            raise InvalidInputError(
                f"device {d.device_id!r} reports {d.quantities!r}; a {d.kind} reports a "
                f"non-empty subset, without repeats, of {allowed}"
            )
        if d.kind in _PARKING_KINDS:
            if d.lot_kind not in LOT_PROFILES:
                raise InvalidInputError(
                    f"parking device {d.device_id!r} has lot_kind {d.lot_kind!r}; "
                    f"use one of {sorted(LOT_PROFILES)}"
                )
            if lot_kinds.setdefault(d.asset_id, d.lot_kind) != d.lot_kind:
                raise InvalidInputError(
                    f"lot {d.asset_id!r} is given lot_kinds {lot_kinds[d.asset_id]!r} and "
                    f"{d.lot_kind!r}; give all its bays and counters the same one"
                )
        elif d.lot_kind is not None:
            raise InvalidInputError(
                f"device {d.device_id!r} is a {d.kind}; lot_kind is for parking devices only"
            )
    bay_lots = {d.asset_id for d in devices if d.kind == PARKING_BAY}
    for d in devices:
        if d.kind == PARKING_COUNTER and d.asset_id not in bay_lots:
            raise InvalidInputError(
                f"counter {d.device_id!r} counts lot {d.asset_id!r}, which has no "
                f"parking_bay devices; add its bays or drop the counter"
            )


class Simulator:
    """Simulated telemetry of the town's devices, advanced by :meth:`tick`.

    Deterministic: the same devices, seed, flood, intervals and sequence of tick
    times give the same messages.

    Example:
        >>> from datetime import datetime, timezone
        >>> gauge = SimDevice("gauge-1", "river_gauge", "danube-trm", ("water_level",))
        >>> sim = Simulator([gauge])
        >>> [m.topic for m in sim.tick(datetime(2024, 5, 1, tzinfo=timezone.utc))]
        ['city/devices/gauge-1/json']
    """

    def __init__(
        self,
        devices: Sequence[SimDevice],
        seed: int = 42,
        topic_prefix: str = "city",
        flood: FloodWave | None = None,
        intervals: Intervals = Intervals(),  # noqa: B008 - frozen, so sharing is safe
    ) -> None:
        """Check the devices and prepare their models; nothing is published until a tick."""
        _check_devices(devices)
        check_topic_prefix(topic_prefix)
        self._devices = tuple(devices)
        self._topics = [device_topic(topic_prefix, d.device_id) for d in self._devices]
        self._river = DanubeModel.from_seed(seed, flood)
        self._air = AirQualityModel.from_seed(seed)
        self._heartbeat_s = intervals.parking_bay_heartbeat
        period_of_kind = {
            RIVER_GAUGE: intervals.river_gauge,
            AIR_QUALITY: intervals.air_quality,
            PARKING_COUNTER: intervals.parking_counter,
        }

        # Each device's position in the arrays of its kind: a bay's chain, a
        # counter's lot, a station's offsets; unused for gauges.
        self._slot: list[int] = []
        self._stations: list[Station] = []
        station_of_asset: dict[str, int] = {}
        lot_of_asset: dict[str, int] = {}
        bay_index: list[int] = []
        bay_lot: list[int] = []
        periodic_index: list[int] = []
        lots: list[LotDemand] = []
        for i, d in enumerate(self._devices):
            if d.kind in _PARKING_KINDS and d.asset_id not in lot_of_asset:
                assert d.lot_kind is not None  # checked by _check_devices
                lot_of_asset[d.asset_id] = len(lots)
                lots.append(LotDemand.from_seed(seed, d.asset_id, d.lot_kind))
            if d.kind == PARKING_BAY:
                self._slot.append(len(bay_index))
                bay_index.append(i)
                bay_lot.append(lot_of_asset[d.asset_id])
            elif d.kind == PARKING_COUNTER:
                self._slot.append(lot_of_asset[d.asset_id])
            elif d.kind == AIR_QUALITY:
                if d.asset_id not in station_of_asset:
                    station_of_asset[d.asset_id] = len(self._stations)
                    self._stations.append(self._air.station(d.asset_id))
                self._slot.append(station_of_asset[d.asset_id])
            else:
                self._slot.append(0)
            if d.kind in period_of_kind:
                periodic_index.append(i)

        self._bay_index = np.array(bay_index, dtype=np.intp)
        self._bay_lot = np.array(bay_lot, dtype=np.intp)
        self._lots = tuple(lots)
        self._dwell_s = np.array([lot.mean_dwell_minutes * 60.0 for lot in self._lots])
        self._bays = BayChains(self._bay_lot, seeded_rng(seed, "bays"))
        self._periodic_index = np.array(periodic_index, dtype=np.intp)
        self._period_s = np.array(
            [period_of_kind[self._devices[i].kind] for i in periodic_index], dtype=float
        )
        # Stagger: each device's second report comes after a seeded fraction of its
        # period, and the regular ones follow.
        stagger = seeded_rng(seed, "stagger")
        self._first_delay_s = self._period_s * (1.0 - stagger.random(len(periodic_index)))
        self._first_heartbeat_s = self._heartbeat_s * (1.0 - stagger.random(len(bay_index)))
        self._next_due = np.empty(len(periodic_index))
        self._next_heartbeat = np.empty(len(bay_index))
        self._last_ts: float | None = None

    def river_level_cm(self, now: datetime) -> float:
        """The simulated Danube's level on the staff gauge at ``now`` (cm)."""
        return self._river.level_cm(now)

    def tick(self, now: datetime) -> list[Message]:
        """Advance the simulation to ``now`` and return the messages due since the last tick.

        The first tick publishes every device once. ``now`` must be timezone-aware and
        not earlier than the previous tick's time. Messages come in device order.
        """
        require_aware(now, "now")
        ts = now.timestamp()
        due = np.zeros(len(self._devices), dtype=bool)
        p_lot = np.array([lot.occupancy_probability(now) for lot in self._lots])
        if self._last_ts is None:
            self._bays.start(p_lot)
            self._next_due = ts + self._first_delay_s
            self._next_heartbeat = ts + self._first_heartbeat_s
            due[:] = True
        else:
            if ts < self._last_ts:
                raise InvalidInputError(
                    f"tick times must not go backwards: {now.isoformat()} is before the "
                    "previous tick; build a new Simulator to start over"
                )
            changed = self._bays.step(ts - self._last_ts, p_lot, self._dwell_s)
            bay_due = changed | (ts >= self._next_heartbeat)
            self._next_heartbeat[bay_due] = ts + self._heartbeat_s
            due[self._bay_index] = bay_due

            periodic_due = ts >= self._next_due
            missed = self._next_due[periodic_due]
            period = self._period_s[periodic_due]
            self._next_due[periodic_due] = missed + period * (np.floor((ts - missed) / period) + 1)
            due[self._periodic_index] = periodic_due
        self._last_ts = ts
        return self._messages(now, np.flatnonzero(due))

    def _messages(self, now: datetime, due: NDArray[np.intp]) -> list[Message]:
        """Build the messages of the devices at positions ``due``, sampling at ``now``."""
        river: dict[str, float] | None = None
        counts: NDArray[np.intp] | None = None
        stations: dict[int, dict[str, float]] = {}
        occupied = self._bays.occupied
        messages = []
        for i in due:
            device = self._devices[i]
            slot = self._slot[i]
            values: Mapping[str, float]
            if device.kind == RIVER_GAUGE:
                if river is None:
                    river = {
                        "water_level": round(self._river.level_cm(now)),
                        "water_temperature": round(self._river.water_temperature_c(now), 1),
                    }
                values = river
            elif device.kind == PARKING_BAY:
                values = {"occupied": int(occupied[slot])}
            elif device.kind == PARKING_COUNTER:
                if counts is None:
                    counts = np.bincount(self._bay_lot[occupied], minlength=len(self._lots))
                values = {"occupied_spaces": int(counts[slot])}
            else:
                if slot not in stations:
                    sample = self._air.sample(now, self._stations[slot])
                    stations[slot] = {k: round(v, 1) for k, v in sample._asdict().items()}
                values = stations[slot]
            reported = {q: values[q] for q in device.quantities}
            messages.append(Message(self._topics[i], encode_payload(now, reported)))
        return messages
