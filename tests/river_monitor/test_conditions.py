"""Alert conditions of a gauge: hysteresis, escalation, rate of rise, silence, spikes.

The level condition is checked against a reference written differently (one latch per
threshold) over random hydrographs; the rest against hand-made sequences.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demo_town.river import DEMO
from river_monitor.conditions import CLOCK_AHEAD_MAX, Change, GaugeWatch, held_band
from river_monitor.config import GaugeConfig

T0 = datetime(2026, 4, 1, tzinfo=UTC)
GAUGE = DEMO.gauges[0]
STEP = timedelta(minutes=15)


def _feed(watch: GaugeWatch, levels: list[float], step: timedelta = STEP) -> list[Change]:
    changes: list[Change] = []
    for k, level in enumerate(levels):
        moment = T0 + k * step
        changes += watch.reading(moment, level, moment)
    return changes


def _reference_levels(levels: list[float], config: GaugeConfig) -> list[int]:
    """One latch per threshold: set when the level reaches it, reset when it falls
    hysteresis below it; the severity is the number of latches set (they nest)."""
    bounds = (config.attention_cm, config.flood_cm, config.danger_cm)
    latched = [False, False, False]
    out = []
    for level in levels:
        for i, bound in enumerate(bounds):
            if level >= bound:
                latched[i] = True
            elif level < bound - config.hysteresis_cm:
                latched[i] = False
        # a higher latch holds the lower ones (falling from red through orange's band)
        for i in (1, 0):
            latched[i] = latched[i] or latched[i + 1]
        out.append(sum(latched))
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats(min_value=470, max_value=680, allow_nan=False).map(lambda v: round(v, 1)),
        min_size=1,
        max_size=60,
    )
)
def test_level_severity_follows_the_reference_latches(levels: list[float]) -> None:
    config = GAUGE.model_copy(update={"spike_cm_per_h": 1e9})  # every step is possible
    watch = GaugeWatch(config)
    seen = []
    for k, level in enumerate(levels):
        moment = T0 + k * STEP
        watch.reading(moment, level, moment)
        seen.append(watch.severity["level"])
    assert seen == _reference_levels(levels, config)


def test_a_level_hovering_at_a_threshold_raises_one_alert() -> None:
    hovering = [490.0, 498, 501, 497, 503, 499, 502, 496, 500, 495, 504, 492]
    changes = [c for c in _feed(GaugeWatch(GAUGE), hovering) if c.kind == "level"]
    assert [(c.severity, c.value) for c in changes] == [(1, 501)]
    # ... and clears only once it falls hysteresis (10 cm) below attention
    watch = GaugeWatch(GAUGE)
    later = [c for c in _feed(watch, [*hovering, 491, 489.5]) if c.kind == "level"]
    assert [(c.severity, c.value) for c in later] == [(1, 501), (0, 489.5)]


def test_escalation_and_de_escalation_through_the_codes() -> None:
    hydrograph = [480.0, 505, 530, 556, 600, 655, 660, 641, 600, 545, 520, 489]
    every_2h = timedelta(hours=2)  # the fastest step, 55 cm in 2 h, is a possible rise
    changes = [c for c in _feed(GaugeWatch(GAUGE), hydrograph, every_2h) if c.kind == "level"]
    assert [(c.severity, c.value) for c in changes] == [
        (1, 505),
        (2, 556),
        (3, 655),
        (2, 600),  # 641 is within 10 cm of 650: still red
        (1, 520),  # 545 is within 10 cm of 550: still orange
        (0, 489),
    ]
    assert [c.at for c in changes][0] == T0 + 1 * every_2h


def test_negative_levels_are_levels() -> None:
    assert _feed(GaugeWatch(GAUGE), [-42.0, -40, -38]) == []


def test_a_physically_impossible_spike_is_flagged_not_obeyed() -> None:
    watch = GaugeWatch(GAUGE)
    changes = _feed(watch, [480.0, 481, 900, 482])
    assert watch.severity["level"] == 0, "the spike to 900 cm must not raise a level alert"
    spikes = [(c.severity, c.value) for c in changes if c.kind == "spike"]
    assert spikes == [(1, 900), (0, 482)]
    assert next(c for c in changes if c.kind == "spike").detail["last_accepted_cm"] == 481


def test_a_jump_confirmed_by_three_readings_is_accepted() -> None:
    watch = GaugeWatch(GAUGE)
    changes = _feed(watch, [480.0, 481, 560, 561, 562])  # e.g. the gauge was re-zeroed
    assert [(c.kind, c.severity) for c in changes] == [
        ("spike", 1),
        ("level", 2),  # the confirmed readings are taken, in their order
        ("spike", 0),
    ]
    assert changes[1].at == T0 + 2 * STEP, "the level alert dates from the first of them"


def test_rapid_rise_over_the_window() -> None:
    watch = GaugeWatch(GAUGE)  # 3 cm/h over 6 h; readings every hour
    rising = [300.0 + 4 * k for k in range(8)] + [332.0 + 7 * k for k in range(1, 6)]
    flat = [367.0] * 8
    changes = [c for c in _feed(watch, rising + flat, timedelta(hours=1)) if c.kind == "rise"]
    assert [c.severity for c in changes] == [1, 2, 1, 0]
    assert changes[0].at == T0 + 3 * timedelta(hours=1), "once half the window is covered"
    assert changes[0].detail["cm_per_h"] == 4.0


def test_silence_is_an_alert_and_a_reading_clears_it() -> None:
    watch = GaugeWatch(GAUGE)
    _feed(watch, [560.0])  # orange: silence during a flood is red
    last = T0
    assert watch.tick(last + timedelta(minutes=GAUGE.silence_after_min - 1)) == []
    (silent,) = watch.tick(last + timedelta(minutes=GAUGE.silence_after_min))
    assert (silent.kind, silent.severity) == ("silence", 3)
    assert watch.tick(last + timedelta(hours=10)) == [], "raised once"
    back = last + timedelta(hours=11)
    changes = watch.reading(back, 561.0, back)
    assert [(c.kind, c.severity) for c in changes] == [("silence", 0)]


def test_late_readings_do_not_move_the_state() -> None:
    watch = GaugeWatch(GAUGE)
    _feed(watch, [480.0, 490])
    late = T0 - timedelta(hours=1)
    assert watch.reading(late, 700.0, T0 + timedelta(hours=1)) == []
    assert watch.severity["level"] == 0


def test_readings_dated_ahead_of_their_arrival_hide_no_later_genuine_reading() -> None:
    watch = GaugeWatch(GAUGE)
    history = [T0 + k * STEP for k in range(-4, 1)]
    for moment in history:
        watch.reading(moment, 300.0, moment)
    # a few normal levels dated 5 minutes ahead, arriving a second apart ...
    now = T0 + timedelta(minutes=1)
    ahead = [(now + timedelta(minutes=5, seconds=k), now + timedelta(seconds=k)) for k in range(3)]
    clock = [c for dated, arrived in ahead for c in watch.reading(dated, 300.0, arrived)]
    assert [(c.kind, c.severity, c.at) for c in clock] == [("clock", 1, now)]
    assert clock[0].detail == {
        "reading_time": ahead[0][0].isoformat(),
        "arrived": now.isoformat(),
        "ahead_s": 300.0,
        "limit_s": CLOCK_AHEAD_MAX.total_seconds(),
    }
    # ... then the genuine 700 cm readings, dated as they arrive
    changes: list[Change] = []
    for k in range(1, 4):
        moment = now + timedelta(seconds=10 * k)
        changes += watch.reading(moment, 700.0, moment)
    assert watch.severity["level"] == 3, "the genuine danger level must raise its alert"
    assert [(c.kind, c.severity, c.value) for c in changes] == [
        ("spike", 1, 700.0),  # 300 to 700 cm in 10 s is a jump, confirmed by three
        ("clock", 0, 700.0),  # three readings in a row dated in time
        ("level", 3, 700.0),
        ("spike", 0, 700.0),
    ]


def test_readings_ahead_of_arrival_are_taken_in_arrival_order_when_they_arrive_together() -> None:
    watch = GaugeWatch(GAUGE)
    arrived = T0
    changes = [
        c
        for k, level in enumerate([480.0, 560, 561, 562])
        for c in watch.reading(T0 + timedelta(hours=1, minutes=k), level, arrived)
    ]
    # one arrival for all: still four distinct moments, so the jump is confirmed
    assert [(c.kind, c.severity) for c in changes] == [
        ("clock", 1),
        ("spike", 1),
        ("level", 2),
        ("spike", 0),
    ]
    assert changes[2].at == T0 + timedelta(milliseconds=1)
    assert watch.last_time == T0 + timedelta(milliseconds=3)


def test_a_reading_just_within_the_clock_tolerance_keeps_its_time() -> None:
    watch = GaugeWatch(GAUGE)
    dated = T0 + CLOCK_AHEAD_MAX
    assert watch.reading(dated, 480.0, T0) == []
    assert watch.last_time == dated


def test_held_band_edges() -> None:
    assert held_band(500, (500, 550, 650), 0, 10) == 1  # reached at equality
    assert held_band(490, (500, 550, 650), 1, 10) == 1  # exactly hysteresis below: held
    assert held_band(489.9, (500, 550, 650), 1, 10) == 0
    assert held_band(700, (500, 550, 650), 1, 10) == 3


RULES = GaugeConfig(
    device_id="gauge-x",
    name="a gauge with every rule spelt out",
    zero_m=19.5,
    attention_cm=500,
    flood_cm=550,
    danger_cm=650,
    hysteresis_cm=10,
    rise_cm_per_h=3,
    rise_window_h=6,
    silence_after_min=240,
    spike_cm_per_h=50,
    spike_tolerance_cm=5,
    contacts=("duty",),
)
HOUR = timedelta(hours=1)


def test_a_restart_resumes_hysteresis_the_silence_timer_and_the_last_level() -> None:
    arrived = T0 + 2 * HOUR
    watch = GaugeWatch(
        RULES,
        severities={"level": 1, "silence": 0},
        recent=[(T0, 498.0), (T0 + HOUR, 496.0)],
        last_arrival=arrived,
    )
    assert watch.last_time == T0 + HOUR
    silent = arrived + timedelta(minutes=240)
    assert watch.tick(silent - timedelta(seconds=1)) == []
    assert [(c.kind, c.severity) for c in watch.tick(silent)] == [("silence", 2)]
    # 495 is within hysteresis of attention: the resumed yellow holds
    assert [(c.kind, c.severity) for c in watch.reading(T0 + 3 * HOUR, 495.0, silent)] == [
        ("silence", 0)
    ]
    # a jump from the resumed last level (495 cm) is a spike, not a level
    assert [(c.kind, c.severity) for c in watch.reading(T0 + 4 * HOUR, 900.0, silent)] == [
        ("spike", 1)
    ]
    assert [(c.kind, c.severity) for c in watch.reading(T0 + 5 * HOUR, 489.0, silent)] == [
        ("level", 0),
        ("spike", 0),
    ]


def test_tick_before_any_reading_raises_nothing() -> None:
    assert GaugeWatch(RULES).tick(T0 + 100 * HOUR) == []


def test_silence_is_orange_at_a_normal_level_and_says_since_when() -> None:
    watch = GaugeWatch(RULES)
    watch.reading(T0, 480.0, T0 + timedelta(seconds=20))
    now = T0 + timedelta(seconds=20 + 15040)  # 250.67 minutes after the arrival
    assert watch.tick(now) == [
        Change(
            "gauge-x",
            "silence",
            2,
            now,
            None,
            {"last_arrival": "2026-04-01T00:00:20+00:00", "silent_min": 250.7},
        )
    ]
    back = now + HOUR
    assert watch.reading(T0 + 5 * HOUR, 481.0, back) == [
        Change("gauge-x", "silence", 0, back, 481.0, {})
    ]


@pytest.mark.parametrize(
    ("jump", "spike"),
    [
        (17.4, False),  # 15 minutes: 50 cm/h * 0.25 h + 5 cm = 17.5 cm allowed
        (17.5, False),  # exactly the limit
        (17.6, True),
        (-17.5, False),
        (-17.6, True),
    ],
)
def test_the_spike_limit_is_the_rate_over_the_step_plus_the_tolerance(
    jump: float, spike: bool
) -> None:
    watch = GaugeWatch(RULES)
    watch.reading(T0, 480.0, T0)
    later = T0 + timedelta(minutes=15)
    changes = watch.reading(later, 480.0 + jump, later)
    assert [c.kind for c in changes] == (["spike"] if spike else [])
    assert watch.last_time == (T0 if spike else later)


def test_a_spike_says_what_it_jumped_from_and_how_fast() -> None:
    watch = GaugeWatch(RULES)
    watch.reading(T0, 481.0, T0)
    moment = T0 + timedelta(minutes=7)
    assert watch.reading(moment, 900.0, moment) == [
        Change(
            "gauge-x",
            "spike",
            1,
            moment,
            900.0,
            {
                "suspect_cm": 900.0,
                "last_accepted_cm": 481.0,
                "last_accepted_at": "2026-04-01T00:00:00+00:00",
                "rate_cm_per_h": 3591.4,  # 419 cm in 7 minutes
                "limit_cm_per_h": 50,
            },
        )
    ]
    back = moment + timedelta(minutes=8)
    assert watch.reading(back, 482.0, back) == [Change("gauge-x", "spike", 0, back, 482.0, {})]


def test_a_confirmed_jump_clears_the_spike_with_its_confirmations() -> None:
    watch = GaugeWatch(RULES)
    _feed(watch, [480.0, 560, 561])
    third = T0 + 3 * STEP
    changes = watch.reading(third, 562.0, third)
    assert changes[-1] == Change("gauge-x", "spike", 0, third, 562.0, {"confirmed_by": 3})


def test_a_repeated_reading_time_does_not_move_the_state() -> None:
    watch = GaugeWatch(RULES)
    watch.reading(T0, 480.0, T0)
    assert watch.reading(T0, 700.0, T0 + STEP) == []
    assert watch.severity == {"level": 0, "rise": 0, "silence": 0, "spike": 0, "clock": 0}


def test_the_rise_alert_says_the_trend_and_how_many_readings_made_it() -> None:
    watch = GaugeWatch(RULES)
    levels = [300.0 + 10 * k / 3 for k in range(4)]  # 3.33 cm/h
    rises = [c for c in _feed(watch, levels, HOUR) if c.kind == "rise"]
    # once half the window (3 h) is covered: four readings
    assert rises == [
        Change("gauge-x", "rise", 1, T0 + 3 * HOUR, levels[3], {"cm_per_h": 3.33, "points": 4})
    ]


def test_the_trend_window_keeps_the_reading_exactly_at_its_start() -> None:
    """Flat at 400 cm for eight hours, then 20 cm/h. Nine hours in, the window (6 h,
    both ends included) holds five flat readings and two rising: the median slope is
    the smallest rising one, 4 cm/h (20 cm over 5 h). One reading more (a window
    open at its start) and half the slopes are flat: no rise yet."""
    watch = GaugeWatch(RULES)
    levels = [400.0] * 8 + [420.0, 440.0]
    rises = [c for c in _feed(watch, levels, HOUR) if c.kind == "rise"]
    assert [(c.severity, c.at, c.detail) for c in rises] == [
        (1, T0 + 9 * HOUR, {"cm_per_h": 4.0, "points": 7})
    ]


@pytest.mark.parametrize(("then_cm_per_h", "cleared"), [(2.0, False), (1.25, True)])
def test_a_rise_alert_clears_below_half_the_rate(then_cm_per_h: float, cleared: bool) -> None:
    watch = GaugeWatch(RULES)
    rising = [300.0 + 4 * k for k in range(8)]  # 4 cm/h: raised
    slower = [rising[-1] + then_cm_per_h * k for k in range(1, 13)]  # 12 h: the window's all
    rises = [c for c in _feed(watch, rising + slower, HOUR) if c.kind == "rise"]
    assert [c.severity for c in rises] == ([1, 0] if cleared else [1])
    if cleared:
        assert rises[1].detail["cm_per_h"] < 1.5 <= rises[0].detail["cm_per_h"]
