"""Lot occupancy profiles and the bay Markov chains built on them."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from simulator.bays import transition_probabilities
from simulator.engine import SimDevice, Simulator
from simulator.errors import InvalidInputError
from simulator.signals import LOT_PROFILES, MAX_OCCUPANCY

LOCAL = ZoneInfo("Europe/Bucharest")


def p(kind: str, local: datetime) -> float:
    """Occupancy probability at a local wall-clock time, passed in as UTC."""
    return LOT_PROFILES[kind].occupancy_probability(local.replace(tzinfo=LOCAL).astimezone(UTC))


# 2024-05-15 is a Wednesday, 2024-05-18 a Saturday, 2024-05-19 a Sunday.
WEDNESDAY, SATURDAY, SUNDAY = datetime(2024, 5, 15), datetime(2024, 5, 18), datetime(2024, 5, 19)


def at(day: datetime, hour: float) -> datetime:
    return day + timedelta(hours=hour)


def test_centre_is_busy_late_morning_and_empty_at_night() -> None:
    assert p("centre", at(WEDNESDAY, 11)) > p("centre", at(WEDNESDAY, 3)) + 0.4
    assert p("centre", at(WEDNESDAY, 11)) > 0.6


def test_centre_is_quieter_on_sunday() -> None:
    assert p("centre", at(SUNDAY, 11)) < p("centre", at(WEDNESDAY, 11)) - 0.2


def test_market_is_busier_on_saturday_morning_than_on_sunday() -> None:
    assert p("market", at(SATURDAY, 9)) > p("market", at(SUNDAY, 9)) + 0.3


def test_hospital_visiting_hours_and_night_staff() -> None:
    assert p("hospital", at(WEDNESDAY, 17)) > p("hospital", at(WEDNESDAY, 21)) + 0.15
    assert p("hospital", at(WEDNESDAY, 3)) > p("centre", at(WEDNESDAY, 3)) + 0.1


def test_station_has_commuter_peaks() -> None:
    assert p("station", at(WEDNESDAY, 7)) > p("station", at(WEDNESDAY, 9.5)) + 0.15
    assert p("station", at(WEDNESDAY, 17)) > p("station", at(WEDNESDAY, 14.5)) + 0.15
    assert p("station", at(SATURDAY, 7)) < p("station", at(WEDNESDAY, 7)) - 0.3


def test_stadium_fills_for_the_saturday_evening_match() -> None:
    assert p("stadium", at(SATURDAY, 18.5)) > 0.8
    assert p("stadium", at(WEDNESDAY, 18.5)) < 0.3


@pytest.mark.parametrize("kind", sorted(LOT_PROFILES))
def test_probabilities_stay_strictly_inside_zero_and_one(kind: str) -> None:
    week = [p(kind, at(WEDNESDAY, h / 4)) for h in range(4 * 24 * 7)]
    assert min(week) > 0.0
    assert max(week) <= MAX_OCCUPANCY < 1.0


def test_daily_pattern_follows_local_time_through_daylight_saving() -> None:
    centre = LOT_PROFILES["centre"]
    summer = centre.occupancy_probability(datetime(2024, 7, 10, 8, tzinfo=UTC))  # 11:00 EEST
    winter = centre.occupancy_probability(datetime(2024, 1, 10, 9, tzinfo=UTC))  # 11:00 EET
    assert summer == pytest.approx(winter)


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        LOT_PROFILES["centre"].occupancy_probability(datetime(2024, 5, 15, 11))


def test_transition_probabilities_keep_the_stationary_probability() -> None:
    p_occ = np.array([0.1, 0.5, 0.9])
    dwell = np.array([600.0, 3000.0, 9000.0])
    stay, arrive = transition_probabilities(p_occ, dwell, 60.0)
    assert np.allclose(p_occ * stay + (1 - p_occ) * arrive, p_occ)
    stay0, arrive0 = transition_probabilities(p_occ, dwell, 0.0)
    assert np.allclose(stay0, 1.0) and np.allclose(arrive0, 0.0)


def simulate_bays(
    kind: str, n: int, start: datetime, hours: float, step_s: int = 60
) -> tuple[list[datetime], np.ndarray]:
    """Tick a lot of ``n`` bays and return the times and the bays' published states."""
    devices = [SimDevice(f"bay-{i}", "parking_bay", "lot", ("occupied",), kind) for i in range(n)]
    sim = Simulator(devices, seed=5)
    state = np.zeros(n, dtype=int)
    times: list[datetime] = []
    states = []
    for k in range(int(hours * 3600 / step_s) + 1):
        now = start + timedelta(seconds=k * step_s)
        for m in sim.tick(now):
            bay = int(m.topic.split("/")[2].removeprefix("bay-"))
            state[bay] = json.loads(m.payload)["values"]["occupied"]
        times.append(now)
        states.append(state.copy())
    return times, np.array(states)


def test_bays_fill_the_centre_by_late_morning_with_realistic_dwell_times() -> None:
    start = datetime(2024, 5, 15, tzinfo=LOCAL).astimezone(UTC)  # Wednesday 00:00 local
    times, states = simulate_bays("centre", 150, start, hours=24, step_s=120)
    by_hour = {t.astimezone(LOCAL).hour: s.mean() for t, s in zip(times, states, strict=True)}
    assert by_hour[11] > by_hour[3] + 0.4
    assert by_hour[11] == pytest.approx(p("centre", at(WEDNESDAY, 11)), abs=0.12)

    # Completed occupied spells: tens of minutes to hours (the profile says 50 min).
    spells = [2 * length for bay in states.T for length in occupied_spells(bay)]  # minutes
    assert len(spells) > 200
    assert 25 < np.mean(spells) < 100


def occupied_spells(series: np.ndarray) -> list[int]:
    """Lengths, in samples, of the runs of 1 that both start and end inside ``series``."""
    spells, began = [], None
    for k in range(1, len(series)):
        if series[k] and not series[k - 1]:
            began = k
        elif not series[k] and series[k - 1] and began is not None:
            spells.append(k - began)
            began = None
    return spells
