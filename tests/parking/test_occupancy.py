"""A lot's live state from hand-made bays and counters: each expected figure is counted
here from the scenario, not from the code's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parking import occupancy
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


# --- each rule at its edge, and what the state says about it (issue 12: mutation testing)


def test_a_bay_is_silent_only_after_the_silence_and_occupied_from_half() -> None:
    thresholds = Thresholds(bay_silent_after=timedelta(minutes=15))
    edge = occupancy.bay_state(
        BayInput("b", "s", SensorValue(NOW - timedelta(minutes=15), 1.0)), NOW, thresholds
    )
    assert edge.status is BayStatus.OCCUPIED
    late = occupancy.bay_state(
        BayInput("b", "s", SensorValue(NOW - timedelta(minutes=15, seconds=1), 1.0)), NOW
    )
    assert late.status is BayStatus.SILENT
    half = occupancy.bay_state(BayInput("b", "s", SensorValue(FRESH, 0.5)), NOW)
    below = occupancy.bay_state(BayInput("b", "s", SensorValue(FRESH, 0.49)), NOW)
    assert (half.status, below.status) == (BayStatus.OCCUPIED, BayStatus.FREE)


def test_a_lots_thresholds_reach_its_bays() -> None:
    # heard 2 min ago: silent after 1 min, so no bay reports and the lot has no figure
    strict = Thresholds(bay_silent_after=timedelta(minutes=1))
    heard = [NOW - timedelta(minutes=2)] * 2
    state = occupancy.lot_state(_lot([1, 0], capacity=2, heard=heard), NOW, strict)
    assert [b.status for b in state.bays] == [BayStatus.SILENT, BayStatus.SILENT]
    assert state.status is LotStatus.UNKNOWN


def test_a_bays_state_names_it_and_says_since_when() -> None:
    began = NOW - timedelta(hours=3)
    sensors: list[occupancy.SensorRow] = [
        ("dev-1", occupancy.BAY, "b1", {"occupied": SensorValue(FRESH, 1.0)}),
        ("dev-2", occupancy.BAY, None, {"occupied": SensorValue(FRESH, 0.0)}),
    ]
    lot = occupancy.lot_input("lot-7", "Lot 7", 2, sensors, since={"dev-1": began})
    assert [(b.bay_id, b.device_id, b.since) for b in lot.bays] == [
        ("b1", "dev-1", began),
        ("dev-2", "dev-2", None),
    ]
    state = occupancy.lot_state(lot, NOW)
    assert (state.lot_id, state.name, state.bays_total) == ("lot-7", "Lot 7", 2)
    assert state.bays[0] == BayState("b1", "dev-1", BayStatus.OCCUPIED, began, FRESH, None)
    assert state.bays[1] == BayState("dev-2", "dev-2", BayStatus.FREE, None, FRESH, None)


def test_a_bay_out_of_service_is_so_since_the_decision_unless_known_otherwise() -> None:
    decided = NOW - timedelta(hours=1)
    service = Closure("line painting", None, decided, "ana")
    bay = occupancy.bay_state(BayInput("b", "s", SensorValue(FRESH, 1.0), None, service), NOW)
    assert bay == BayState("b", "s", BayStatus.OUT_OF_SERVICE, decided, FRESH, service)
    looked_up = NOW - timedelta(hours=5)
    known = occupancy.bay_state(
        BayInput("b", "s", SensorValue(FRESH, 1.0), looked_up, service), NOW
    )
    assert known.since == looked_up
    # a decision that has lapsed leaves the bay in service, and its since alone
    lapsed = Closure("works", NOW - timedelta(minutes=1), NOW - timedelta(hours=2))
    back = occupancy.bay_state(BayInput("b", "s", SensorValue(FRESH, 1.0), None, lapsed), NOW)
    assert (back.status, back.out_of_service, back.since) == (BayStatus.OCCUPIED, None, None)


def test_only_parking_devices_count_and_the_first_counter_only() -> None:
    sensors: list[occupancy.SensorRow] = [
        ("weather-1", "weather_station", None, {"occupied_spaces": SensorValue(FRESH, 9.0)}),
        ("c1", occupancy.COUNTER, None, {"occupied_spaces": SensorValue(FRESH, 3.0)}),
        ("c2", occupancy.COUNTER, None, {"occupied_spaces": SensorValue(FRESH, 7.0)}),
    ]
    lot = occupancy.lot_input("lot", "Lot", 10, sensors)
    assert lot.counter is not None and lot.counter.device_id == "c1"
    assert occupancy.lot_state(lot, NOW).occupied == 3


def test_a_counter_with_entries_but_no_exits_gives_no_figure() -> None:
    state = occupancy.lot_state(_lot(counter={"entries": 30}, capacity=50), NOW)
    assert (state.source, state.occupied, state.status) == (Source.NONE, None, LotStatus.UNKNOWN)


def test_a_lot_without_capacity_takes_its_number_of_bays_and_without_bays_has_none() -> None:
    state = occupancy.lot_state(_lot([1, 0, 0]), NOW)
    assert (state.capacity, state.occupied, state.free) == (3, 1, 2)
    empty = occupancy.lot_state(_lot([]), NOW)
    assert (empty.capacity, empty.status, empty.source) == (None, LotStatus.UNKNOWN, Source.NONE)
    assert (empty.occupied, empty.free, empty.as_of, empty.data_age_s) == (None,) * 4


def test_every_bay_out_of_service_leaves_no_place() -> None:
    service = {f"b{k:03d}": Closure("works", None, NOW - timedelta(hours=1)) for k in range(2)}
    state = occupancy.lot_state(_lot([1, 0], capacity=2, services=service), NOW)
    assert (state.capacity, state.bays_out_of_service, state.bays_total) == (0, 2, 2)
    assert state.status is LotStatus.UNKNOWN


def test_a_counter_is_fresh_up_to_the_stale_limit() -> None:
    edge = NOW - timedelta(minutes=5)
    fresh = occupancy.lot_state(
        _lot(counter={"occupied_spaces": 3}, capacity=20, counter_time=edge), NOW
    )
    assert (fresh.status, fresh.flags, fresh.data_age_s) == (LotStatus.OPEN, (), 300.0)
    stale = occupancy.lot_state(
        _lot(counter={"occupied_spaces": 3}, capacity=20, counter_time=edge - timedelta(seconds=1)),
        NOW,
    )
    assert stale.status is LotStatus.SENSOR_FAULT
    assert stale.flags == (Flag("stale", "no fresh data: the counter's figure is 301 s old"),)


def test_a_quorum_is_reached_at_exactly_its_share() -> None:
    # 8 of 10 report: 80 %, the quorum; 4 of the 8 occupied, the 2 silent estimated at 1
    heard = [FRESH] * 8 + [OLD] * 2
    state = occupancy.lot_state(_lot([1, 0] * 5, capacity=10, heard=heard), NOW)
    assert (state.status, state.source, state.occupied) == (LotStatus.OPEN, Source.BAYS, 5)
    assert state.flags == (
        Flag(
            "bays_silent",
            "2 of 10 bays not reporting: their share is estimated from the 8 that do",
        ),
    )


def test_too_few_bays_and_a_stale_counter_is_a_fault_on_the_bays_figure() -> None:
    heard = [FRESH] * 5 + [OLD] * 5
    state = occupancy.lot_state(
        _lot([1, 0] * 5, {"occupied_spaces": 9}, capacity=10, heard=heard, counter_time=OLD), NOW
    )
    # 3 of the 5 heard are occupied, the 5 silent counted at that rate: 6
    assert (state.source, state.occupied, state.drift) == (Source.BAYS, 6, None)
    assert state.counter_occupied == 9
    assert state.status is LotStatus.SENSOR_FAULT
    assert state.flags[-1] == Flag(
        "too_few_bays", "only 5 of 10 bays report and the lot has no fresh counter"
    )


def test_a_stale_counter_is_not_reconciled_against_the_bays() -> None:
    state = occupancy.lot_state(
        _lot([1, 1, 0, 0], {"occupied_spaces": 4}, capacity=4, counter_time=OLD), NOW
    )
    assert (state.source, state.occupied, state.drift, state.flags) == (Source.BAYS, 2, None, ())


def test_a_counter_alone_has_no_drift() -> None:
    state = occupancy.lot_state(_lot(counter={"occupied_spaces": 12}, capacity=50), NOW)
    assert state.drift is None and state.bays_occupied is None


def test_the_drift_limit_grows_with_the_capacity_and_the_flag_says_what_to_do() -> None:
    # 100 bays: the limit is 5 % = 5 spaces; 4 over is within
    bays = [1] * 50 + [0] * 50
    within = occupancy.lot_state(_lot(bays, {"occupied_spaces": 54}, capacity=100), NOW)
    assert (within.drift, within.flags) == (4, ())
    beyond = occupancy.lot_state(_lot(bays, {"occupied_spaces": 44}, capacity=100), NOW)
    assert beyond.flags == (
        Flag(
            "counter_drift",
            "the counter says 44, the bays 50 (-6, beyond ±5): the bays' figure is shown;"
            " correct the counter",
        ),
    )


def test_an_empty_or_exactly_full_count_is_not_flagged() -> None:
    empty = occupancy.lot_state(_lot(counter={"occupied_spaces": 0}, capacity=50), NOW)
    assert (empty.occupied, empty.free, empty.flags) == (0, 50, ())
    full = occupancy.lot_state(_lot(counter={"occupied_spaces": 50}, capacity=50), NOW)
    assert (full.occupied, full.status, full.flags) == (50, LotStatus.FULL, ())


def test_the_bounds_flags_say_what_the_sensors_said() -> None:
    negative = occupancy.lot_state(_lot(counter={"entries": 90, "exits": 97}, capacity=50), NOW)
    assert negative.flags == (Flag("negative_count", "the counter figure is -7: shown as 0"),)
    over = occupancy.lot_state(_lot(counter={"occupied_spaces": 61}, capacity=50), NOW)
    assert over.flags == (
        Flag("over_capacity", "the counter figure 61 exceeds the capacity 50: shown as full"),
    )


def test_a_reading_taken_now_is_zero_seconds_old() -> None:
    state = occupancy.lot_state(_lot([1, 0], capacity=2, heard=[NOW, NOW]), NOW)
    assert state.data_age_s == 0.0
    # a clock behind the sensor's: not a negative age
    ahead = occupancy.lot_state(_lot([1], capacity=1, heard=[NOW + timedelta(seconds=3)]), NOW)
    assert ahead.data_age_s == 0.0


@pytest.mark.parametrize(("raw", "capacity"), [("1", 1), ("1.0", 1), ("2", 2), ("0.5", None)])
def test_a_capacity_of_one_place_is_a_capacity(raw: str, capacity: int | None) -> None:
    assert _lot([], capacity=raw).capacity == capacity


def _state(status: LotStatus, occupied: int | None, capacity: int | None) -> LotState:
    free = None if occupied is None or capacity is None else capacity - occupied
    return LotState("lot", "Lot", status, Source.BAYS, capacity, occupied, free, NOW, 0.0)


@pytest.mark.parametrize(
    ("state", "label", "colour"),
    [
        (_state(LotStatus.CLOSED, 3, 10), "P closed", (60, 60, 60)),
        (_state(LotStatus.UNKNOWN, None, 10), "P no data", (150, 150, 150)),
        (_state(LotStatus.UNKNOWN, 3, None), "P no data", (150, 150, 150)),
        (_state(LotStatus.FULL, 10, 10), "P 10/10 full", (220, 50, 50)),
        (_state(LotStatus.SENSOR_FAULT, 4, 10), "P 4/10 (sensor fault)", (245, 130, 0)),
        (_state(LotStatus.OPEN, 0, 10), "P 0/10 · 10 free", (40, 170, 60)),
        (_state(LotStatus.OPEN, 89, 100), "P 89/100 · 11 free", (40, 170, 60)),
        (_state(LotStatus.OPEN, 90, 100), "P 90/100 · 10 free", (240, 200, 0)),
        (_state(LotStatus.OPEN, 0, 0), "P 0/0 · 0 free", (40, 170, 60)),
    ],
)
def test_a_lots_label_and_colour_on_the_map(
    state: LotState, label: str, colour: tuple[int, int, int]
) -> None:
    assert occupancy.display(state) == (label, colour)


def test_a_sensors_own_label_and_colour() -> None:
    assert occupancy.sensor_display(occupancy.BAY, {"occupied": 1.0}, None) == (
        "occupied",
        (220, 50, 50),
    )
    assert occupancy.sensor_display(occupancy.BAY, {"occupied": 0.5}, 9) == (
        "occupied",
        (220, 50, 50),
    )
    assert occupancy.sensor_display(occupancy.BAY, {"occupied": 0.4}, None) == (
        "free",
        (40, 170, 60),
    )
    assert occupancy.sensor_display(occupancy.COUNTER, {"occupied_spaces": 12.7}, 40) == (
        "P 12/40",
        (60, 60, 60),
    )
    assert occupancy.sensor_display(occupancy.COUNTER, {"occupied_spaces": 12.0}, None) == (
        "P 12",
        (60, 60, 60),
    )
    # no parking value, or not a parking device
    assert occupancy.sensor_display(occupancy.BAY, {"battery": 3.1}, None) is None
    assert occupancy.sensor_display(occupancy.COUNTER, {"entries": 5.0}, 40) is None
    assert occupancy.sensor_display("weather_station", {"occupied": 1.0}, None) is None
    assert occupancy.sensor_display("weather_station", {"occupied_spaces": 1.0}, 4) is None


def test_a_lots_mean_occupancy_from_its_bays_else_its_counter() -> None:
    bays = {("b1", "occupied"): 0.2, ("b2", "occupied"): 0.6, ("c", "occupied_spaces"): 90.0}
    assert occupancy.mean_occupancy(bays, 100.0) == pytest.approx(0.4)
    counter = {("c", "occupied_spaces"): 30.0, ("c", "entries"): 900.0}
    assert occupancy.mean_occupancy(counter, 120.0) == 0.25
    # held within 0..1, and nothing without a capacity or a parking quantity
    assert occupancy.mean_occupancy({("c", "occupied_spaces"): 130.0}, 120.0) == 1.0
    assert occupancy.mean_occupancy({("c", "occupied_spaces"): -4.0}, 120.0) == 0.0
    assert occupancy.mean_occupancy({("c", "occupied_spaces"): 0.5}, 1.0) == 0.5
    assert occupancy.mean_occupancy({("c", "occupied_spaces"): 30.0}, 0.0) is None
    assert occupancy.mean_occupancy({("c", "entries"): 30.0}, 120.0) is None
    assert occupancy.mean_occupancy({}, 120.0) is None


@pytest.mark.parametrize(("raw", "capacity"), [(139, 139.0), ("40", 40.0), ("x", 0.0), (None, 0.0)])
def test_a_capacity_of_a_layers_value_is_zero_where_none_is_usable(
    raw: object, capacity: float
) -> None:
    assert occupancy.capacity_of(raw) == capacity
