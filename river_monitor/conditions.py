"""What each new reading, or the passing of time, changes in a gauge's alert conditions.

Pure state, no I/O: the monitor feeds readings in time order and the clock; each
returns the conditions that changed, which the alert store turns into an alert's
lifecycle. Five conditions, each with a severity (0: clear):

* ``level``: the warning code (1 yellow, 2 orange, 3 red), held until the level falls
  ``hysteresis_cm`` below the threshold that raised it, so a level hovering at a
  threshold raises one alert, not dozens;
* ``rise``: the Theil–Sen trend over ``rise_window_h`` reaches ``rise_cm_per_h``
  (1) or twice that (2), cleared below half;
* ``silence``: no reading has arrived for ``silence_after_min`` (2; 3 during a flood
  or danger alert): a gauge that stops talking in a flood is an emergency;
* ``spike``: a reading that moved faster than the river can (``spike_cm_per_h``) is
  flagged and not obeyed; if the next readings confirm the jump (three in a row that
  agree with each other), they are accepted as the river's level;
* ``clock``: a reading dated more than :data:`CLOCK_AHEAD_MAX` after it arrived comes
  from a clock that runs ahead (1), cleared by three readings in a row dated in time.

Readings are taken in time order, and one older than the last taken is stored but moves
nothing. A reading dated ahead of its arrival would thus hide every genuine reading of
the next minutes, a flood level included, behind a wrong clock; so such a reading is
evaluated as of its arrival, where the river is known to have been at that level.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from river_monitor.config import GaugeConfig
from river_monitor.trend import trend

Kind = Literal["level", "rise", "silence", "spike", "clock"]
KINDS: tuple[Kind, ...] = ("level", "rise", "silence", "spike", "clock")
CONFIRMATIONS = 3
"""Consecutive mutually consistent readings that turn a suspect jump into the level, and
consecutive readings dated in time that clear a clock running ahead."""
CLOCK_AHEAD_MAX = timedelta(seconds=30)
"""How far after its arrival a reading may be dated (clocks drift, NTP corrects them in
steps); beyond, the gauge's clock is wrong. Genuine readings arriving within this much
after such a reading could still be taken as older than it, so it is kept short."""
CLOCK_STEP = timedelta(milliseconds=1)
"""Between readings ahead of their clock that arrive together: kept in arrival order."""


def dated_ahead(time: datetime, arrived: datetime) -> bool:
    """Whether a reading is dated further after its arrival than a right clock allows."""
    return time - arrived > CLOCK_AHEAD_MAX


@dataclass(frozen=True)
class Change:
    """A condition's new severity (0: cleared), when it changed and the value behind it."""

    gauge_id: str
    kind: Kind
    severity: int
    at: datetime
    value: float | None
    detail: dict[str, Any] = field(default_factory=dict)


def held_band(value: float, bounds: Sequence[float], current: int, margin: float) -> int:
    """The band of ``value`` among increasing ``bounds`` (0 below the first; a bound is
    reached at equality), except that ``current`` is kept until the value falls
    ``margin`` below the bound that reached it."""
    reached = bisect_right(bounds, value)
    held = bisect_right(bounds, value + margin)
    return max(reached, min(current, held))


class GaugeWatch:
    """The alert conditions of one gauge, from its readings and the clock."""

    def __init__(
        self,
        config: GaugeConfig,
        severities: Mapping[str, int] | None = None,
        recent: Sequence[tuple[datetime, float]] = (),
        last_arrival: datetime | None = None,
    ) -> None:
        """Resume from the open alerts' severities, the recent accepted readings (time
        order) and when the last reading arrived."""
        self.config = config
        self.severity: dict[str, int] = {k: (severities or {}).get(k, 0) for k in KINDS}
        self._accepted: deque[tuple[datetime, float]] = deque(recent)
        self._suspect: list[tuple[datetime, float]] = []
        self._in_time = 0
        self.last_arrival = last_arrival

    @property
    def last_time(self) -> datetime | None:
        """Time of the last reading taken into account (accepted)."""
        return self._accepted[-1][0] if self._accepted else None

    def reading(self, time: datetime, level_cm: float, arrived: datetime) -> list[Change]:
        """Take a new reading (time order) that arrived at ``arrived``; one dated ahead of
        its arrival (:func:`dated_ahead`) is taken as of its arrival."""
        changes = self._set("silence", 0, arrived, level_cm)
        self.last_arrival = max(arrived, self.last_arrival or arrived)
        time, clock = self._dated(time, level_cm, arrived)
        changes += clock
        last = self._accepted[-1] if self._accepted else None
        if last is not None and time <= last[0]:
            return changes  # late or repeated: stored, but the state has moved on
        if last is None or not self._impossible(last, (time, level_cm)):
            self._suspect.clear()
            return changes + self._accept(time, level_cm) + self._set("spike", 0, time, level_cm)
        if self._suspect and self._impossible(self._suspect[-1], (time, level_cm)):
            self._suspect.clear()  # not even consistent with the previous suspect
        self._suspect.append((time, level_cm))
        if len(self._suspect) < CONFIRMATIONS:
            rate = (level_cm - last[1]) / max((time - last[0]).total_seconds() / 3600.0, 1e-9)
            detail = {
                "suspect_cm": level_cm,
                "last_accepted_cm": last[1],
                "last_accepted_at": last[0].isoformat(),
                "rate_cm_per_h": round(rate, 1),
                "limit_cm_per_h": self.config.spike_cm_per_h,
            }
            return changes + self._set("spike", 1, time, level_cm, detail)
        confirmed, self._suspect = self._suspect, []
        for moment, value in confirmed:
            changes += self._accept(moment, value)
        return changes + self._set("spike", 0, time, level_cm, {"confirmed_by": len(confirmed)})

    def tick(self, now: datetime) -> list[Change]:
        """Let time pass: a gauge silent for too long raises the silence condition."""
        if self.last_arrival is None or self.severity["silence"]:
            return []
        silent = now - self.last_arrival
        if silent < timedelta(minutes=self.config.silence_after_min):
            return []
        severity = 3 if self.severity["level"] >= 2 else 2
        detail = {
            "last_arrival": self.last_arrival.isoformat(),
            "silent_min": round(silent.total_seconds() / 60.0, 1),
        }
        return self._set("silence", severity, now, None, detail)

    def _dated(
        self, time: datetime, level_cm: float, arrived: datetime
    ) -> tuple[datetime, list[Change]]:
        """The time to evaluate a reading at, and the clock condition it changes."""
        if not dated_ahead(time, arrived):
            self._in_time += 1
            if self._in_time < CONFIRMATIONS:
                return time, []
            return time, self._set("clock", 0, time, level_cm)
        self._in_time = 0
        detail = {
            "reading_time": time.isoformat(),
            "arrived": arrived.isoformat(),
            "ahead_s": round((time - arrived).total_seconds(), 1),
            "limit_s": CLOCK_AHEAD_MAX.total_seconds(),
        }
        latest = self.last_time
        if self._suspect and (latest is None or self._suspect[-1][0] > latest):
            latest = self._suspect[-1][0]
        evaluated = arrived if latest is None or arrived > latest else latest + CLOCK_STEP
        return evaluated, self._set("clock", 1, arrived, level_cm, detail)

    def _impossible(self, before: tuple[datetime, float], after: tuple[datetime, float]) -> bool:
        hours = (after[0] - before[0]).total_seconds() / 3600.0
        allowed = self.config.spike_cm_per_h * hours + self.config.spike_tolerance_cm
        return abs(after[1] - before[1]) > allowed

    def _accept(self, time: datetime, level_cm: float) -> list[Change]:
        config = self.config
        self._accepted.append((time, level_cm))
        window_start = time - timedelta(hours=config.rise_window_h)
        while len(self._accepted) > 1 and self._accepted[0][0] < window_start:
            self._accepted.popleft()
        t = config.thresholds
        level = held_band(
            level_cm,
            (t.attention_cm, t.flood_cm, t.danger_cm),
            self.severity["level"],
            config.hysteresis_cm,
        )
        changes = self._set("level", level, time, level_cm)
        found = trend(list(self._accepted))
        if found is not None and (found.end - found.start) >= timedelta(
            hours=config.rise_window_h / 2
        ):
            rate = config.rise_cm_per_h
            rise = held_band(found.cm_per_h, (rate, 2 * rate), self.severity["rise"], rate / 2)
            detail = {"cm_per_h": round(found.cm_per_h, 2), "points": found.points}
            changes += self._set("rise", rise, time, level_cm, detail)
        return changes

    def _set(
        self,
        kind: Kind,
        severity: int,
        at: datetime,
        value: float | None,
        detail: dict[str, Any] | None = None,
    ) -> list[Change]:
        if self.severity[kind] == severity:
            return []
        self.severity[kind] = severity
        return [Change(self.config.device_id, kind, severity, at, value, detail or {})]
