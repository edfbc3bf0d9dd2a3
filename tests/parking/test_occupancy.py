"""A lot's live state from hand-made bays and counters: each expected figure is counted
here from the scenario, not from the code's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parking import occupancy
from parking.model import (
    BayInput,
    BayStatus,
    Closure,
    CounterInput,
    LotInput,
    LotOverride,
    LotStatus,
    SensorValue,
    Source,
)

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
FRESH = NOW - timedelta(minutes=1)
OLD = NOW - timedelta(hours=2)


def _lot(
    bays: list[int | None] | None = None,
    counter: dict[str, float] | None = None,
    capacity: object = None,
    override: LotOverride | None = None,
    heard: list[datetime] | None = None,
    counter_time: datetime = FRESH,
    services: dict[str, Closure] | None = None,
) -> LotInput:
    sensors: list[occupancy.SensorRow] = []
    for k, value in enumerate(bays or []):
        when = heard[k] if heard else FRESH
        values = {} if value is None else {"occupied": SensorValue(when, float(value))}
        sensors.append((f"b{k:03d}-sensor", occupancy.BAY, f"b{k:03d}", values))
    if counter is not None:
        values = {q: SensorValue(counter_time, v) for q, v in counter.items()}
        sensors.append(("counter", occupancy.COUNTER, None, values))
    return occupancy.lot_input("lot", "Lot", capacity, sensors, override, services)


def test_bays_alone_give_the_figure() -> None:
    state = occupancy.lot_state(_lot([1, 1, 0, 1, 0], capacity=5), NOW)
    assert (state.capacity, state.occupied, state.free) == (5, 3, 2)
    assert state.status is LotStatus.OPEN and state.source is Source.BAYS
    assert state.flags == () and state.as_of == FRESH
    assert state.data_age_s == 60.0


def test_a_lot_at_76_of_139_is_open_with_63_free_not_occupied() -> None:
    """The twin's defect: the lot showed its first bay's state."""
    bays = [1] * 76 + [0] * 63
    state = occupancy.lot_state(_lot(bays, capacity=139), NOW)
    assert (state.occupied, state.free, state.status) == (76, 63, LotStatus.OPEN)
    label, _ = occupancy.display(state)
    assert label == "P 76/139 · 63 free"


def test_full_when_no_place_is_free() -> None:
    state = occupancy.lot_state(_lot([1, 1, 1], capacity=3), NOW)
    assert state.status is LotStatus.FULL and state.free == 0


def test_a_closed_lot_is_closed_whatever_its_sensors_say() -> None:
    closure = Closure("market day", None, NOW - timedelta(hours=1))
    for bays in ([0, 0, 0], [1, 1, 1], [None, None, None]):
        state = occupancy.lot_state(_lot(bays, capacity=3, override=LotOverride(closure)), NOW)
        assert state.status is LotStatus.CLOSED
        assert state.closure == closure
    lapsed = Closure("works", NOW - timedelta(minutes=1), NOW - timedelta(hours=1))
    state = occupancy.lot_state(_lot([0, 0, 1], capacity=3, override=LotOverride(lapsed)), NOW)
    assert state.status is LotStatus.OPEN and state.closure is None


def test_counter_and_bays_both_reconciled_and_drift_flagged() -> None:
    # 40 bays, 20 occupied; the counter says 29: 9 over, beyond max(2, 5% of 40 = 2)
    bays = [1] * 20 + [0] * 20
    state = occupancy.lot_state(_lot(bays, {"occupied_spaces": 29}, capacity=40), NOW)
    assert state.source is Source.BOTH
    assert (state.occupied, state.counter_occupied, state.bays_occupied) == (20, 29, 20)
    assert state.drift == 9
    assert [f.code for f in state.flags] == ["counter_drift"]
    # within the limit: reconciled, not flagged
    close = occupancy.lot_state(_lot(bays, {"occupied_spaces": 22}, capacity=40), NOW)
    assert close.drift == 2 and close.flags == ()


def test_counter_alone_entries_exits_and_free_spaces() -> None:
    state = occupancy.lot_state(_lot(counter={"occupied_spaces": 12}, capacity=50), NOW)
    assert (state.source, state.occupied, state.free) == (Source.COUNTER, 12, 38)
    totals = occupancy.lot_state(_lot(counter={"entries": 130, "exits": 95}, capacity=50), NOW)
    assert totals.occupied == 35
    free = occupancy.lot_state(_lot(counter={"free_spaces": 8}, capacity=50), NOW)
    assert free.occupied == 42


def test_a_counter_below_zero_or_over_capacity_is_held_within_and_flagged() -> None:
    negative = occupancy.lot_state(_lot(counter={"entries": 90, "exits": 97}, capacity=50), NOW)
    assert (negative.occupied, negative.free, negative.raw_occupied) == (0, 50, -7)
    assert [f.code for f in negative.flags] == ["negative_count"]
    over = occupancy.lot_state(_lot(counter={"occupied_spaces": 61}, capacity=50), NOW)
    assert (over.occupied, over.free, over.raw_occupied) == (50, 0, 61)
    assert [f.code for f in over.flags] == ["over_capacity"]
    assert over.status is LotStatus.FULL


def test_an_operator_correction_offsets_the_counter() -> None:
    override = LotOverride(counter_offset=-4)
    state = occupancy.lot_state(
        _lot(counter={"occupied_spaces": 30}, capacity=50, override=override), NOW
    )
    assert state.occupied == 26


def test_silent_bays_are_estimated_and_too_many_make_a_fault() -> None:
    # 10 bays: 9 heard (6 occupied), 1 silent: the silent one counts at 6/9 -> 1
    heard = [FRESH] * 9 + [OLD]
    state = occupancy.lot_state(_lot([1] * 6 + [0] * 3 + [1], capacity=10, heard=heard), NOW)
    assert state.bays_reporting == 9 and state.occupied == 7
    assert [f.code for f in state.flags] == ["bays_silent"]
    assert state.status is LotStatus.OPEN
    assert state.bays[-1].status is BayStatus.SILENT
    # 5 of 10 silent, no counter: below the quorum
    half = [FRESH] * 5 + [OLD] * 5
    fault = occupancy.lot_state(_lot([1, 0] * 5, capacity=10, heard=half), NOW)
    assert fault.status is LotStatus.SENSOR_FAULT
    assert "too_few_bays" in [f.code for f in fault.flags]
    # ... but with a fresh counter, the counter gives the figure
    counted = occupancy.lot_state(
        _lot([1, 0] * 5, {"occupied_spaces": 4}, capacity=10, heard=half), NOW
    )
    assert (counted.source, counted.occupied, counted.status) == (
        Source.COUNTER,
        4,
        LotStatus.OPEN,
    )


def test_a_stale_counter_is_a_sensor_fault_and_no_data_is_unknown() -> None:
    stale = occupancy.lot_state(
        _lot(counter={"occupied_spaces": 3}, capacity=20, counter_time=OLD), NOW
    )
    assert stale.status is LotStatus.SENSOR_FAULT and stale.data_age_s == 7200.0
    unknown = occupancy.lot_state(_lot([None, None], capacity=2), NOW)
    assert unknown.status is LotStatus.UNKNOWN and unknown.occupied is None
    assert unknown.bays[0].status is BayStatus.UNKNOWN


def test_bays_out_of_service_leave_the_capacity_and_the_count() -> None:
    service = {"b000": Closure("line painting", None, NOW - timedelta(hours=1))}
    state = occupancy.lot_state(_lot([1, 1, 0, 0], capacity=4, services=service), NOW)
    assert (state.capacity, state.occupied, state.free) == (3, 1, 2)
    assert state.bays_out_of_service == 1
    assert state.bays[0].status is BayStatus.OUT_OF_SERVICE


def test_operators_capacity_wins_over_the_layers() -> None:
    state = occupancy.lot_state(
        _lot(counter={"occupied_spaces": 10}, capacity=50, override=LotOverride(capacity=20)), NOW
    )
    assert (state.capacity, state.free) == (20, 10)


@pytest.mark.parametrize(("raw", "capacity"), [("0", None), ("-3", None), ("x", None), ("12", 12)])
def test_layer_capacity_must_be_a_positive_whole_number(raw: str, capacity: int | None) -> None:
    assert _lot([], capacity=raw).capacity == capacity


_MINUTE = timedelta(minutes=1)


def test_holds_until_the_first_threshold_or_decision_ahead() -> None:
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    lot = LotInput(
        "l",
        "L",
        4,
        (
            BayInput("b1", "d1", SensorValue(now - 10 * _MINUTE, 1.0)),  # silent at +5
            BayInput("b2", "d2", SensorValue(now - 20 * _MINUTE, 1.0)),  # silent already
            BayInput("b3", "d3", None, service=Closure("paint", now + 7 * _MINUTE, now - _MINUTE)),
        ),
        CounterInput("c", {"occupied_spaces": SensorValue(now - 2 * _MINUTE, 2.0)}),  # +3
        LotOverride(Closure("works", None, now + 2 * _MINUTE)),  # closes at +2
    )
    second = timedelta(seconds=1)
    assert occupancy.holds_until(lot, now) == now + 2 * _MINUTE
    assert occupancy.holds_until(lot, now + 2 * _MINUTE) == now + 2 * _MINUTE
    assert occupancy.holds_until(lot, now + 2 * _MINUTE + second) == now + 3 * _MINUTE
    assert occupancy.holds_until(lot, now + 3 * _MINUTE + second) == now + 5 * _MINUTE
    assert occupancy.holds_until(lot, now + 5 * _MINUTE + second) == now + 7 * _MINUTE
    assert occupancy.holds_until(lot, now + 7 * _MINUTE + second) is None
    # the state changes at or just after each moment, its data age aside
    moments = [now, *(now + m * _MINUTE + second for m in (2, 3, 5, 7))]
    states = [occupancy.lot_state(lot, m) for m in moments]
    seen = [(s.status, s.source, s.capacity, [b.status for b in s.bays]) for s in states]
    assert all(a != b for a, b in zip(seen, seen[1:], strict=False)), seen
    held = [occupancy.lot_state(lot, m - 2 * second) for m in moments[1:]]
    assert [(s.status, s.source, s.capacity, [b.status for b in s.bays]) for s in held] == seen[:-1]
