"""A lot's live state from its bays, its counter and its operators' decisions: pure code.

The rules, in order:

1. **Bays.** A bay out of service counts neither as a place nor as a reading. A bay is
   occupied or free by its sensor's latest ``occupied``, *silent* when not heard for
   :attr:`~parking.model.Thresholds.bay_silent_after`, *unknown* when never heard.
2. **Capacity.** The operators' capacity, else the layer's, else the number of bays;
   less the bays out of service.
3. **Counter.** ``occupied_spaces``, else capacity less ``free_spaces``, else
   ``entries - exits`` (running totals), plus the offset an operator's correction set.
   It is stale after :attr:`~parking.model.Thresholds.counter_stale_after`.
4. **Source.** Bays give the figure when at least the quorum of in-service bays report
   (silent ones are estimated at the reporting bays' rate, flagged); with a fresh
   counter too the source is *both* and the counter's difference from the bays is the
   ``drift``, flagged beyond :meth:`~parking.model.Thresholds.drift_limit`. Otherwise
   a fresh counter gives it; otherwise whatever is left, as a sensor fault.
5. **Bounds.** A figure below 0 or over the capacity is held within, with a flag.
6. **Status.** Closed by an operator beats everything; then unknown (no data or no
   capacity), sensor fault (stale data, or too few bays and no fresh counter), full
   (no free place), open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from statistics import fmean

from parking.model import (
    BayInput,
    BayState,
    BayStatus,
    Closure,
    CounterInput,
    Flag,
    LotInput,
    LotOverride,
    LotState,
    LotStatus,
    SensorValue,
    Source,
    Thresholds,
)

BAY = "parking_bay"
COUNTER = "parking_counter"
"""The device kinds of bay sensors and lot counters (the sensors layer's ``kind``)."""
COUNTER_QUANTITIES = ("occupied_spaces", "free_spaces", "entries", "exits")


def bay_state(bay: BayInput, now: datetime, thresholds: Thresholds = Thresholds()) -> BayState:  # noqa: B008 - frozen
    """One bay's state at ``now``."""
    reading = bay.occupied
    heard = reading.time if reading else None
    service = bay.service if bay.service is not None and bay.service.active(now) else None
    if service is not None:
        status = BayStatus.OUT_OF_SERVICE
    elif reading is None:
        status = BayStatus.UNKNOWN
    elif now - reading.time > thresholds.bay_silent_after:
        status = BayStatus.SILENT
    else:
        status = BayStatus.OCCUPIED if reading.value >= 0.5 else BayStatus.FREE
    since = bay.since
    if since is None and service is not None:
        since = service.since
    return BayState(bay.bay_id, bay.device_id, status, since, heard, service)


def counter_figure(counter: CounterInput, capacity: int | None) -> tuple[int, datetime] | None:
    """The counter's occupied places (before any operator offset) and when it said so,
    or None when it reports nothing usable."""
    values = counter.values
    if "occupied_spaces" in values:
        reading = values["occupied_spaces"]
        return round(reading.value), reading.time
    if "free_spaces" in values and capacity is not None:
        reading = values["free_spaces"]
        return capacity - round(reading.value), reading.time
    if "entries" in values and "exits" in values:
        entries, exits = values["entries"], values["exits"]
        return round(entries.value - exits.value), max(entries.time, exits.time)
    return None


def lot_state(
    lot: LotInput,
    now: datetime,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen
) -> LotState:
    """The lot's live state at ``now`` (see the module's rules)."""
    bays = tuple(bay_state(b, now, thresholds) for b in lot.bays)
    override = lot.override
    in_service = [b for b in bays if b.status is not BayStatus.OUT_OF_SERVICE]
    reporting = [b for b in in_service if b.status in (BayStatus.OCCUPIED, BayStatus.FREE)]
    out_of_service = len(bays) - len(in_service)
    declared = override.capacity or lot.capacity or len(bays) or None
    capacity = None if declared is None else max(declared - out_of_service, 0)
    flags: list[Flag] = []

    counted = None if lot.counter is None else counter_figure(lot.counter, declared)
    counter_occupied = None
    counter_time = None
    counter_fresh = False
    if counted is not None:
        counter_occupied = counted[0] + override.counter_offset
        counter_time = counted[1]
        counter_fresh = now - counter_time <= thresholds.counter_stale_after

    bays_occupied = None
    bays_time = max((b.last_heard for b in reporting if b.last_heard), default=None)
    quorum = bool(in_service) and len(reporting) >= thresholds.bay_quorum * len(in_service)
    if reporting:
        seen = sum(b.status is BayStatus.OCCUPIED for b in reporting)
        missing = len(in_service) - len(reporting)
        bays_occupied = seen + round(missing * seen / len(reporting))
        if missing:
            flags.append(
                Flag(
                    "bays_silent",
                    f"{missing} of {len(in_service)} bays not reporting: their share is"
                    f" estimated from the {len(reporting)} that do",
                )
            )

    drift = None
    if quorum and bays_occupied is not None:
        source = Source.BOTH if counter_fresh else Source.BAYS
        raw, as_of = bays_occupied, bays_time
        if counter_fresh and counter_occupied is not None:
            drift = counter_occupied - bays_occupied
            limit = thresholds.drift_limit(capacity or 0)
            if abs(drift) > limit:
                flags.append(
                    Flag(
                        "counter_drift",
                        f"the counter says {counter_occupied}, the bays {bays_occupied}"
                        f" ({drift:+d}, beyond ±{limit}): the bays' figure is shown;"
                        " correct the counter",
                    )
                )
    elif counter_fresh and counter_occupied is not None:
        source, raw, as_of = Source.COUNTER, counter_occupied, counter_time
    elif bays_occupied is not None:
        source, raw, as_of = Source.BAYS, bays_occupied, bays_time
    elif counter_occupied is not None:
        source, raw, as_of = Source.COUNTER, counter_occupied, counter_time
    else:
        source, raw, as_of = Source.NONE, None, None

    occupied = raw
    if raw is not None and raw < 0:
        occupied = 0
        flags.append(Flag("negative_count", f"the {source} figure is {raw}: shown as 0"))
    elif raw is not None and capacity is not None and raw > capacity:
        occupied = capacity
        flags.append(
            Flag(
                "over_capacity",
                f"the {source} figure {raw} exceeds the capacity {capacity}: shown as full",
            )
        )
    free = None if occupied is None or capacity is None else capacity - occupied
    age = None if as_of is None else max((now - as_of).total_seconds(), 0.0)

    closure = override.closure if override.closure and override.closure.active(now) else None
    stale = age is not None and (
        (source is Source.COUNTER and not counter_fresh)
        or (source in (Source.BAYS, Source.BOTH) and not quorum)
    )
    if closure is not None:
        status = LotStatus.CLOSED
    elif occupied is None or capacity is None:
        status = LotStatus.UNKNOWN
    elif stale:
        status = LotStatus.SENSOR_FAULT
        if source is Source.COUNTER:
            flags.append(Flag("stale", f"no fresh data: the counter's figure is {age:.0f} s old"))
        else:
            flags.append(
                Flag(
                    "too_few_bays",
                    f"only {len(reporting)} of {len(in_service)} bays report and the lot has"
                    " no fresh counter",
                )
            )
    elif free == 0:
        status = LotStatus.FULL
    else:
        status = LotStatus.OPEN
    return LotState(
        lot_id=lot.lot_id,
        name=lot.name,
        status=status,
        source=source,
        capacity=capacity,
        occupied=occupied,
        free=free,
        as_of=as_of,
        data_age_s=age,
        raw_occupied=raw,
        counter_occupied=counter_occupied,
        bays_occupied=bays_occupied,
        drift=drift,
        bays_total=len(bays),
        bays_reporting=len(reporting),
        bays_out_of_service=out_of_service,
        closure=closure,
        flags=tuple(flags),
        bays=bays,
    )


def holds_until(
    lot: LotInput,
    now: datetime,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen
) -> datetime | None:
    """Until when the lot's state at ``now`` holds as time passes, its inputs unchanged
    (None: for ever), but for its data age: the first moment from ``now`` on at or just
    after which a bay falls silent, the counter turns stale, or an operator's decision
    begins or ends. The state is to be computed again at that moment and after it."""
    moments: list[datetime] = []
    for bay in lot.bays:
        if bay.occupied is not None:
            moments.append(bay.occupied.time + thresholds.bay_silent_after)
        if bay.service is not None:
            moments += [bay.service.since] + ([bay.service.until] if bay.service.until else [])
    if lot.counter is not None:
        moments += [v.time + thresholds.counter_stale_after for v in lot.counter.values.values()]
    closure = lot.override.closure
    if closure is not None:
        moments += [closure.since] + ([closure.until] if closure.until else [])
    later = [m for m in moments if m >= now]
    return min(later, default=None)


def with_since(lot: LotInput, since: Mapping[str, datetime]) -> LotInput:
    """The lot with when each bay's state began (by device), as looked up apart."""
    bays = tuple(replace(b, since=since.get(b.device_id)) for b in lot.bays)
    return replace(lot, bays=bays)


SensorRow = tuple[str, str, str | None, Mapping[str, SensorValue]]
"""A lot's device as the twin and the store hold it: id, kind, bay id (None: the device
id names the bay), and its quantities' latest values."""


def lot_input(
    lot_id: str,
    name: str,
    capacity: object,
    sensors: Iterable[SensorRow],
    override: LotOverride | None = None,
    services: Mapping[str, Closure] | None = None,
    since: Mapping[str, datetime] | None = None,
) -> LotInput:
    """A lot's input from its devices (bay sensors and a counter; others are ignored),
    its layer's ``capacity`` (any value: what is not a positive whole number is none),
    its operators' decisions and, when looked up, when each bay's state began (by
    device)."""
    bays: list[BayInput] = []
    counter = None
    for device_id, kind, bay_id, values in sensors:
        if kind == BAY:
            bay = bay_id or device_id
            bays.append(
                BayInput(
                    bay,
                    device_id,
                    values.get("occupied"),
                    (since or {}).get(device_id),
                    (services or {}).get(bay),
                )
            )
        elif kind == COUNTER and counter is None:
            usable = {q: v for q, v in values.items() if q in COUNTER_QUANTITIES}
            counter = CounterInput(device_id, usable)
    return LotInput(
        lot_id,
        name,
        _capacity(capacity),
        tuple(sorted(bays, key=lambda b: b.bay_id)),
        counter,
        override or LotOverride(),
    )


def _capacity(raw: object) -> int | None:
    try:
        value = float(str(raw))
    except ValueError:
        return None
    return int(value) if value >= 1 and value.is_integer() else None


def mean_occupancy(means: Mapping[tuple[str, str], float], capacity: float) -> float | None:
    """A lot's mean occupancy (0..1) over a period from its devices' mean readings
    ((device, quantity) → mean): its bays', else its counter's ``occupied_spaces`` over
    its capacity, else None."""
    bays = [m for (_device, q), m in means.items() if q == "occupied"]
    if bays:
        return fmean(bays)
    counted = [m for (_device, q), m in means.items() if q == "occupied_spaces"]
    if counted and capacity > 0:
        return min(max(fmean(counted) / capacity, 0.0), 1.0)
    return None


def capacity_of(raw: object) -> float:
    """A lot's capacity from its layer's value, 0 where it gives none usable."""
    return float(_capacity(raw) or 0)


Colour = tuple[int, int, int]
_STATUS_COLOURS: dict[LotStatus, Colour] = {
    LotStatus.OPEN: (40, 170, 60),
    LotStatus.FULL: (220, 50, 50),
    LotStatus.CLOSED: (60, 60, 60),
    LotStatus.SENSOR_FAULT: (245, 130, 0),
    LotStatus.UNKNOWN: (150, 150, 150),
}
NEARLY_FULL = 0.9
"""An open lot at least this full is drawn amber."""
_AMBER: Colour = (240, 200, 0)


def display(state: LotState) -> tuple[str, Colour]:
    """A lot's short label and colour for maps: ``P 76/139 · 63 free``, ``closed``..."""
    if state.status is LotStatus.CLOSED:
        return "P closed", _STATUS_COLOURS[LotStatus.CLOSED]
    if state.occupied is None or state.capacity is None:
        return "P no data", _STATUS_COLOURS[LotStatus.UNKNOWN]
    label = f"P {state.occupied}/{state.capacity}"
    if state.status is LotStatus.FULL:
        return f"{label} full", _STATUS_COLOURS[LotStatus.FULL]
    if state.status is LotStatus.SENSOR_FAULT:
        return f"{label} (sensor fault)", _STATUS_COLOURS[LotStatus.SENSOR_FAULT]
    colour = _AMBER if (state.occupancy or 0) >= NEARLY_FULL else _STATUS_COLOURS[state.status]
    return f"{label} · {state.free} free", colour


def sensor_display(
    kind: str, latest: Mapping[str, float], capacity: int | None
) -> tuple[str, Colour] | None:
    """A parking sensor's own label and colour from its latest values, or None for a
    device that is not one or has no parking value."""
    if kind == BAY and "occupied" in latest:
        occupied = latest["occupied"] >= 0.5
        return ("occupied" if occupied else "free"), ((220, 50, 50) if occupied else (40, 170, 60))
    if kind == COUNTER and "occupied_spaces" in latest:
        used = int(latest["occupied_spaces"])
        label = f"P {used}/{capacity}" if capacity else f"P {used}"
        return label, (60, 60, 60)
    return None
