"""The typed model of parking: what a lot and a bay are now, and what operators decided.

Plain frozen dataclasses, no I/O: :mod:`parking.occupancy` computes them, the twin, the
API and the other parking modules read them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class LotStatus(StrEnum):
    """A lot's state as drivers and operators see it."""

    OPEN = "open"
    CLOSED = "closed"
    """Closed by an operator: whatever its sensors say."""
    FULL = "full"
    SENSOR_FAULT = "sensor_fault"
    """Its data is stale, or too few of its bays report and it has no fresh counter."""
    UNKNOWN = "unknown"
    """No data at all, or no known capacity."""


class Source(StrEnum):
    """Where a lot's occupancy comes from."""

    BAYS = "bays"
    COUNTER = "counter"
    BOTH = "both"
    """Bays give the figure; the counter is reconciled against them (``drift``)."""
    NONE = "none"


class BayStatus(StrEnum):
    """A bay's state."""

    OCCUPIED = "occupied"
    FREE = "free"
    SILENT = "silent"
    """Its sensor has not been heard for :attr:`Thresholds.bay_silent_after`."""
    OUT_OF_SERVICE = "out_of_service"
    UNKNOWN = "unknown"
    """Its sensor has never reported."""


@dataclass(frozen=True)
class Thresholds:
    """When data counts as stale and a counter as drifting.

    The defaults fit the demo's devices: bays report on change and every 5 minutes,
    counters every 10 seconds."""

    bay_silent_after: timedelta = timedelta(minutes=15)
    """Three missed heartbeats of a 5-minute cadence."""
    counter_stale_after: timedelta = timedelta(minutes=5)
    bay_quorum: float = 0.8
    """Share of a lot's in-service bays that must report for the bays to give its figure."""
    drift_min_spaces: int = 2
    """A counter within this many spaces of the bays does not drift, whatever the lot's size."""
    drift_share: float = 0.05
    """Nor one within this share of the capacity."""

    def drift_limit(self, capacity: int) -> int:
        """The largest counter-bays difference that is not flagged, in spaces."""
        return max(self.drift_min_spaces, round(self.drift_share * capacity))


@dataclass(frozen=True)
class Flag:
    """Something about a lot's figure an operator should know: a code and why."""

    code: str
    message: str


@dataclass(frozen=True)
class Closure:
    """An operator's decision in force for a while: a lot closed, or a bay out of
    service; why, until when (None: until undone), by whom."""

    reason: str
    until: datetime | None
    since: datetime
    by: str | None = None

    def active(self, now: datetime) -> bool:
        """Whether the decision holds at ``now``."""
        return self.since <= now and (self.until is None or now < self.until)


@dataclass(frozen=True)
class LotOverride:
    """What operators decided about a lot; empty fields leave the sensors' word."""

    closure: Closure | None = None
    capacity: int | None = None
    counter_offset: int = 0
    """Added to the counter's figure: set by a counter correction."""


@dataclass(frozen=True)
class SensorValue:
    """A sensor quantity's latest value and when it was taken."""

    time: datetime
    value: float


@dataclass(frozen=True)
class BayInput:
    """What is known of one bay: its sensor's latest ``occupied``, when its state began
    (``since``; None when not looked up) and whether it is out of service."""

    bay_id: str
    device_id: str
    occupied: SensorValue | None
    since: datetime | None = None
    service: Closure | None = None


@dataclass(frozen=True)
class CounterInput:
    """A lot counter's latest values: ``occupied_spaces``, ``free_spaces``, or running
    totals ``entries`` and ``exits``."""

    device_id: str
    values: dict[str, SensorValue]


@dataclass(frozen=True)
class LotInput:
    """Everything a lot's live state is computed from."""

    lot_id: str
    name: str
    capacity: int | None
    """The capacity the lot's layer gives (None: not given)."""
    bays: tuple[BayInput, ...] = ()
    counter: CounterInput | None = None
    override: LotOverride = field(default_factory=LotOverride)


@dataclass(frozen=True)
class BayState:
    """A bay now: its state, since when, when its sensor was last heard."""

    bay_id: str
    device_id: str
    status: BayStatus
    since: datetime | None
    last_heard: datetime | None
    out_of_service: Closure | None = None

    def document(self) -> dict[str, Any]:
        """As JSON-ready values."""
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class LotState:
    """A lot now: capacity, occupied and free places, status and where the figure comes
    from, how old it is, and the flags that explain anything unusual about it.

    ``occupied`` is never negative nor over ``capacity``: where the sensors say so, it is
    held within and a flag says why (``raw_occupied`` keeps what they said)."""

    lot_id: str
    name: str
    status: LotStatus
    source: Source
    capacity: int | None
    """The places usable now: the operators' or the layer's capacity, less bays out of
    service."""
    occupied: int | None
    free: int | None
    as_of: datetime | None
    """When the newest reading behind the figure was taken."""
    data_age_s: float | None
    raw_occupied: int | None = None
    counter_occupied: int | None = None
    bays_occupied: int | None = None
    drift: int | None = None
    """Counter less bays, in spaces, where the lot has both."""
    bays_total: int = 0
    bays_reporting: int = 0
    bays_out_of_service: int = 0
    closure: Closure | None = None
    flags: tuple[Flag, ...] = ()
    bays: tuple[BayState, ...] = ()

    @property
    def occupancy(self) -> float | None:
        """Occupied share of the capacity (0..1), or None."""
        if self.occupied is None or not self.capacity:
            return None
        return self.occupied / self.capacity

    def document(self, with_bays: bool = False) -> dict[str, Any]:
        """As JSON-ready values (bays only if asked: a list of lots leaves them out).

        Field by field rather than :func:`dataclasses.asdict`, which copies every bay
        only for a list of lots to drop them: 200 lots of 25 bays took 130 ms so."""
        found: dict[str, Any] = {}
        for name in _LOT_FIELDS:
            found[name] = _jsonable(getattr(self, name))
        if self.closure is not None:
            found["closure"] = _jsonable(asdict(self.closure))
        found["flags"] = [{"code": f.code, "message": f.message} for f in self.flags]
        if with_bays:
            found["bays"] = [b.document() for b in self.bays]
        found["occupancy"] = None if self.occupancy is None else round(self.occupancy, 4)
        if self.data_age_s is not None:
            found["data_age_s"] = round(self.data_age_s, 1)
        return found


_LOT_FIELDS = tuple(f.name for f in fields(LotState) if f.name not in ("flags", "bays"))
"""A lot's fields as they are in its document (flags and bays are made apart)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
