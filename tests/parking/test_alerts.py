"""Parking's alert conditions on hand-made sequences of lot states, minute by minute:
when each alert opens and clears is read off the sequence, not from the rules' code."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from alerts.model import AlertSource, Condition, Escalation, Subject, Webhook
from parking.alerts import (
    AlertRules,
    Hold,
    alert_source,
    drift_signal,
    escalation,
    evaluate,
    fill_signal,
    silent_bays,
    stuck_bays,
)
from parking.model import BayState, BayStatus, LotState, LotStatus, Source
from settings import ParkingAlertSettings

T0 = datetime(2026, 5, 4, 8, tzinfo=UTC)
RULES = AlertRules(
    fill_share=0.90,
    fill_clear_share=0.85,
    fill_for=timedelta(minutes=15),
    drift_for=timedelta(minutes=10),
    stuck_after=timedelta(hours=24),
    silent_after=timedelta(minutes=30),
)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _lot(
    occupied: int | None,
    capacity: int = 100,
    *,
    status: LotStatus = LotStatus.OPEN,
    drift: int | None = None,
    bays: Sequence[BayState] = (),
) -> LotState:
    return LotState(
        lot_id="lot-centru",
        name="Parcare Centru",
        status=status,
        source=Source.BOTH if drift is not None else Source.BAYS,
        capacity=capacity,
        occupied=occupied,
        free=None if occupied is None else capacity - occupied,
        as_of=T0,
        data_age_s=0.0,
        counter_occupied=None if drift is None or occupied is None else occupied + drift,
        bays_occupied=occupied,
        drift=drift,
        bays=tuple(bays),
    )


def _run(steps: Sequence[tuple[float, LotState]], kind: str) -> list[tuple[float, int]]:
    """(minute, severity) of each change of ``kind`` over the sequence."""
    holds: dict[tuple[str, str], Hold] = {}
    seen = []
    for minute, lot in steps:
        holds, changes = evaluate([lot], _at(minute), holds, RULES)
        seen += [(minute, c.severity) for c in changes if c.kind == kind]
    return seen


def test_full_for_the_wait_raises_and_below_the_clear_level_resolves() -> None:
    occupancy = [80, 90, 92, 95, 91, 93, 90, 88, 86, 84, 83]
    minutes = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    changes = _run([(m, _lot(o)) for m, o in zip(minutes, occupancy, strict=True)], "fill")
    # at or above 90 % from minute 5: raised 15 min later; below 85 % at minute 45
    assert changes == [(20, 1), (45, 0)]


def test_a_lot_hovering_at_the_fill_level_does_not_flap() -> None:
    # 89 and 91 % in turn: never 15 min above the level, so never raised ...
    hover = [(m, _lot(91 if m % 10 == 0 else 89)) for m in range(0, 120, 5)]
    assert _run(hover, "fill") == []
    # ... and once raised, 89-91 % never clears it (the clear level is 85 %)
    raised = [(m, _lot(95)) for m in range(0, 20, 5)] + [
        (m, _lot(91 if m % 10 == 0 else 86)) for m in range(20, 120, 5)
    ]
    assert _run(raised, "fill") == [(15, 1)]


def test_a_short_dip_restarts_the_wait_and_a_closed_lot_is_not_full() -> None:
    steps = [(0, _lot(95)), (10, _lot(89)), (15, _lot(95)), (25, _lot(95)), (30, _lot(95))]
    assert _run(steps, "fill") == [(30, 1)]
    closed = steps + [(35, _lot(95, status=LotStatus.CLOSED))]
    assert _run(closed, "fill") == [(30, 1), (35, 0)]


def test_a_drifting_counter_raises_after_the_wait_and_resolves_after_agreeing_as_long() -> None:
    # capacity 100: the limit is max(2, 5 % of 100) = 5 spaces
    drifts: list[int | None] = [0, 6, -8, 9, None, 7, 2, 3, 12, 1, 0, 0]
    minutes = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]
    steps = [(m, _lot(50, drift=d)) for m, d in zip(minutes, drifts, strict=True)]
    # beyond ±5 from minute 5: 10 min later, at 15; no word at 20 and beyond again at 25;
    # within from 30 but beyond again at 40; within from 45, 10 min later: 55
    assert _run(steps, "drift") == [(15, 1), (55, 0)]


def _bay(bay_id: str, status: BayStatus, since_h: float, heard_min: float, now: float) -> BayState:
    return BayState(
        bay_id,
        f"dev-{bay_id}",
        status,
        since=_at(now - 60 * since_h),
        last_heard=_at(now - heard_min),
    )


def test_a_bay_stuck_in_one_state_too_long() -> None:
    def lot(now: float, since_h: float) -> tuple[float, LotState]:
        bays = [
            _bay("b1", BayStatus.OCCUPIED, since_h, 1, now),
            _bay("b2", BayStatus.FREE, 2, 1, now),
        ]
        return now, _lot(1, 2, bays=bays)

    steps = [lot(0, 23.5), lot(60, 24.5), lot(120, 25.5), lot(180, 0.2)]
    holds: dict[tuple[str, str], Hold] = {}
    found = []
    for minute, state in steps:
        holds, changes = evaluate([state], _at(minute), holds, RULES)
        found += [
            (minute, c.severity, c.value, c.detail) for c in changes if c.kind == "bays_stuck"
        ]
    ((m1, s1, v1, d1), (m2, s2, _, _)) = found
    assert (m1, s1, v1, m2, s2) == (60, 1, 1, 180, 0)
    assert d1["bays"] == [
        {"bay_id": "b1", "status": "occupied", "since": _at(60 - 60 * 24.5).isoformat()}
    ]


def test_a_silent_bay_sensor_and_an_out_of_service_one() -> None:
    def lot(now: float, heard_min: float, b2: BayStatus = BayStatus.FREE) -> tuple[float, LotState]:
        bays = [
            _bay("b1", BayStatus.OCCUPIED, 1, 2, now),
            _bay("b2", b2, 1, heard_min, now),
        ]
        return now, _lot(1, 2, bays=bays)

    steps = [lot(0, 20), lot(10, 30), lot(20, 40), lot(30, 1)]
    assert _run(steps, "bays_silent") == [(20, 1), (30, 0)]
    # a bay out of service is silent by design: no alert
    out = [lot(m, 600, BayStatus.OUT_OF_SERVICE) for m in (0, 10, 20)]
    assert _run(out, "bays_silent") == []


def test_a_clear_level_at_or_above_the_fill_level_is_refused() -> None:
    with pytest.raises(ValueError, match="clear level"):
        AlertRules(fill_share=0.9, fill_clear_share=0.9)


# --- what each alert says, each rule at its edge, and the rules from the settings


def _changes(steps: Sequence[tuple[float, LotState]], rules: AlertRules = RULES) -> list[Condition]:
    holds: dict[tuple[str, str], Hold] = {}
    seen: list[Condition] = []
    for minute, lot in steps:
        holds, changes = evaluate([lot], _at(minute), holds, rules)
        seen += changes
    return seen


def test_a_fill_alert_says_how_full_the_lot_is_and_what_it_is_measured_against() -> None:
    # capacity 120: 109 places are 90.8 %, 100 are 83.3 %
    steps = [(0, _lot(109, 120)), (15, _lot(109, 120)), (20, _lot(100, 120))]
    assert _changes(steps) == [
        Condition(
            "lot-centru",
            "fill",
            1,
            _at(15),
            90.8,
            "90.8 % full for 15 min (fill level 90 %)",
            {"occupied": 109, "capacity": 120},
        ),
        Condition(
            "lot-centru",
            "fill",
            0,
            _at(20),
            83.3,
            "83.3 % full: below the clear level (85 %)",
            {"occupied": 100, "capacity": 120},
        ),
    ]


def test_a_fill_alert_resolved_by_a_closure_or_by_lost_data_says_so() -> None:
    full = [(0, _lot(95)), (15, _lot(95))]
    closed = _changes([*full, (16, _lot(95, status=LotStatus.CLOSED))])[-1]
    assert (closed.severity, closed.message) == (0, "closed: below the clear level (85 %)")
    unknown = _changes([*full, (16, _lot(None, status=LotStatus.UNKNOWN))])[-1]
    assert (unknown.severity, unknown.value, unknown.message) == (
        0,
        None,
        "occupancy unknown: below the clear level (85 %)",
    )
    assert unknown.detail == {"occupied": None, "capacity": 100}


def test_a_drift_alert_says_what_the_counter_and_the_bays_say() -> None:
    steps = [(0, _lot(50, drift=8)), (10, _lot(50, drift=8)), (12, _lot(50, drift=-2))]
    steps.append((22, _lot(50, drift=-2)))
    assert _changes(steps) == [
        Condition(
            "lot-centru",
            "drift",
            1,
            _at(10),
            8.0,
            "the counter says 58, the bays 50 (+8, beyond ±5): correct the counter",
            {"counter_occupied": 58, "bays_occupied": 50, "limit": 5},
        ),
        Condition(
            "lot-centru",
            "drift",
            0,
            _at(22),
            -2.0,
            "the counter agrees with the bays again (within ±5)",
            {"counter_occupied": 48, "bays_occupied": 50, "limit": 5},
        ),
    ]


def test_the_bay_alerts_list_their_bays_in_order_and_resolve_with_none() -> None:
    def lot(now: float, since_h: float, heard_min: float) -> tuple[float, LotState]:
        bays = [
            _bay("b3", BayStatus.FREE, since_h, heard_min, now),
            _bay("b1", BayStatus.OCCUPIED, since_h, heard_min, now),
        ]
        return now, _lot(1, 2, bays=bays)

    found = _changes([lot(0, 30, 45), lot(5, 1, 1)])
    stuck = [c for c in found if c.kind == "bays_stuck"]
    silent = [c for c in found if c.kind == "bays_silent"]
    assert stuck == [
        Condition(
            "lot-centru",
            "bays_stuck",
            1,
            _at(0),
            2,
            "2 bays unchanged for more than 24 h",
            {
                "bays": [
                    {"bay_id": "b1", "status": "occupied", "since": _at(-1800).isoformat()},
                    {"bay_id": "b3", "status": "free", "since": _at(-1800).isoformat()},
                ]
            },
        ),
        Condition(
            "lot-centru",
            "bays_stuck",
            0,
            _at(5),
            0,
            "every bay has changed state since",
            {"bays": []},
        ),
    ]
    assert silent == [
        Condition(
            "lot-centru",
            "bays_silent",
            1,
            _at(0),
            2,
            "2 bay sensors not heard for more than 30 min",
            {
                "bays": [
                    {"bay_id": "b1", "status": "occupied", "last_heard": _at(-45).isoformat()},
                    {"bay_id": "b3", "status": "free", "last_heard": _at(-45).isoformat()},
                ]
            },
        ),
        Condition(
            "lot-centru",
            "bays_silent",
            0,
            _at(5),
            0,
            "every bay sensor is heard again",
            {"bays": []},
        ),
    ]


def test_each_condition_at_its_edge() -> None:
    # at the clear level a raised fill alert holds; just below, it clears
    assert fill_signal(_lot(85), RULES) is None
    assert fill_signal(_lot(84), RULES) == "clear"
    assert fill_signal(_lot(90), RULES) == "raise"
    # a drift of exactly the limit (5 of 100) is within it; 4 is within at any capacity
    assert drift_signal(_lot(50, drift=5), RULES) == "clear"
    assert drift_signal(_lot(50, drift=-6), RULES) == "raise"
    assert drift_signal(_lot(50, drift=4), RULES) == "clear"
    assert drift_signal(_lot(50), RULES) is None
    # a bay in one state for exactly the wait is not stuck yet; silent likewise
    now = _at(0)
    bays = (
        _bay("b1", BayStatus.OCCUPIED, 24, 30, 0),
        _bay("b2", BayStatus.FREE, 24.01, 30.5, 0),
    )
    lot = _lot(1, 2, bays=bays)
    assert [b.bay_id for b in stuck_bays(lot, now, RULES)] == ["b2"]
    assert [b.bay_id for b in silent_bays(lot, now, RULES)] == ["b2"]


def test_the_levels_may_reach_full_but_not_beyond_nor_zero() -> None:
    assert AlertRules(fill_share=1.0, fill_clear_share=0.01).fill_share == 1.0
    for fill, clear in ((1.01, 0.5), (0.9, 0.0), (0.9, 0.95)):
        with pytest.raises(ValueError, match=r"must be above 0 and below the fill level"):
            AlertRules(fill_share=fill, fill_clear_share=clear)


def test_the_rules_escalation_and_subjects_from_the_settings() -> None:
    settings = ParkingAlertSettings(
        parking_fill_pct=80,
        parking_fill_clear_pct=70,
        parking_fill_min=12,
        parking_stuck_h=6,
        parking_silent_min=45,
        parking_drift_min=20,
        parking_alert_contacts=("gate", "manager"),
        parking_ack_timeout_min=40,
        parking_reminder_min=10,
    )
    assert AlertRules.from_settings(settings) == AlertRules(
        fill_share=0.8,
        fill_clear_share=0.7,
        fill_for=timedelta(minutes=12),
        drift_for=timedelta(minutes=20),
        stuck_after=timedelta(hours=6),
        silent_after=timedelta(minutes=45),
    )
    chain = escalation(settings)
    assert chain == Escalation(("gate", "manager"), timedelta(minutes=40), timedelta(minutes=10))
    subjects = {"lot-a": Subject("lot-a", "Parcare A", chain)}
    assert alert_source({"lot-a": "Parcare A"}, chain) == AlertSource("parking", "lot", subjects)
    hook = Webhook(
        name="gate",
        url="https://gate.example/hooks",  # type: ignore[arg-type]
        secret="whsec_" + base64.b64encode(bytes(range(32))).decode(),  # type: ignore[arg-type]
    )
    assert alert_source({"lot-a": "Parcare A"}, chain, (hook,)) == AlertSource(
        "parking", "lot", subjects, (hook,)
    )
