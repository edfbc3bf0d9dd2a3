"""Parking's alert conditions: pure functions of lot states over time.

Four conditions per lot, each one alert at most in the engine (:mod:`alerts`), keyed
by the lot and the kind:

- ``fill``: occupancy at or above the fill level for ``fill_for``; it resolves once
  occupancy falls below the (lower) clear level, so a lot hovering at the fill level
  neither raises nor resolves on every reading (hysteresis). A lot closed by an
  operator, or whose figure is unknown, is not judged full.
- ``drift``: a counter differing from the lot's bays by more than the lot's drift limit
  (:meth:`parking.model.Thresholds.drift_limit`) for ``drift_for``; it resolves once
  the two agree again for as long. Without a fresh counter and a quorum of bays there
  is nothing to compare, and the condition stays as it was.
- ``bays_stuck``: bays whose state (occupied or free) has not changed for ``stuck_after``.
- ``bays_silent``: bay sensors not heard for ``silent_after``.

The bay conditions are one alert per lot listing its bays (``detail.bays``), so that a
lot with many quiet sensors makes one alert for its operator, not one per bay; the list
is the one the alert was raised with, the lot's page (``GET /parking/lots/{id}``) has
every bay's current state. Bays out of service are never stuck nor silent.

Each alert has severity 1 (yellow). The evaluation remembers, per lot and kind, whether
the alert is open and since when the evidence for a change has held (:class:`Hold`);
:func:`evaluate` returns the new memory and the conditions the engine must apply:
only changes, so a steady condition writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from alerts.model import AlertSource, Condition, Escalation, Subject, Webhook
from parking.model import BayState, BayStatus, LotState, LotStatus, Thresholds
from settings import ParkingAlertSettings

DOMAIN = "parking"
"""Parking's name in the alert engine: events ``parking.alert.*``, MQTT topics
``{prefix}/events/parking/{lot_id}/{kind}``, notification channel ``parking_events``."""
KINDS = ("fill", "drift", "bays_stuck", "bays_silent")

Signal = Literal["raise", "clear"] | None
"""What a lot's state says about one condition: evidence to raise it, to clear it, or
neither (between the levels, or nothing to judge by)."""


@dataclass(frozen=True)
class AlertRules:
    """When each condition is raised and resolved (see the module's docstring)."""

    fill_share: float = 0.90
    fill_clear_share: float = 0.85
    fill_for: timedelta = timedelta(minutes=15)
    drift_for: timedelta = timedelta(minutes=15)
    stuck_after: timedelta = timedelta(hours=24)
    silent_after: timedelta = timedelta(minutes=30)
    thresholds: Thresholds = Thresholds()

    def __post_init__(self) -> None:
        """Refuse a clear level at or above the fill level: it would flap."""
        if not 0 < self.fill_clear_share < self.fill_share <= 1:
            raise ValueError(
                f"the clear level ({self.fill_clear_share:g}) must be above 0 and below the"
                f" fill level ({self.fill_share:g}), which is at most 1"
            )

    @classmethod
    def from_settings(cls, settings: ParkingAlertSettings) -> AlertRules:
        """The rules ``SMARTCITY_PARKING_*`` set."""
        return cls(
            fill_share=settings.parking_fill_pct / 100,
            fill_clear_share=settings.parking_fill_clear_pct / 100,
            fill_for=timedelta(minutes=settings.parking_fill_min),
            drift_for=timedelta(minutes=settings.parking_drift_min),
            stuck_after=timedelta(hours=settings.parking_stuck_h),
            silent_after=timedelta(minutes=settings.parking_silent_min),
        )


@dataclass(frozen=True)
class Hold:
    """What one condition of one lot remembers between evaluations: whether its alert
    is open, and since when the evidence for changing that has held (None: it does not)."""

    open: bool = False
    since: datetime | None = None


def debounce(
    hold: Hold, signal: Signal, at: datetime, raise_after: timedelta, clear_after: timedelta
) -> Hold:
    """The condition's memory after a state judged at ``at``: raised once the evidence
    to raise has held for ``raise_after``, cleared once the evidence to clear has held
    for ``clear_after``; anything else restarts the wait."""
    wanted, after = ("clear", clear_after) if hold.open else ("raise", raise_after)
    if signal != wanted:
        return replace(hold, since=None)
    since = hold.since or at
    if at - since >= after:
        return Hold(open=not hold.open)
    return Hold(hold.open, since)


def fill_signal(lot: LotState, rules: AlertRules) -> Signal:
    """Raise at or above the fill level, clear below the clear level; a closed lot or one
    of unknown occupancy clears."""
    share = lot.occupancy
    if lot.status is LotStatus.CLOSED or share is None:
        return "clear"
    if share >= rules.fill_share:
        return "raise"
    if share < rules.fill_clear_share:
        return "clear"
    return None


def drift_signal(lot: LotState, rules: AlertRules) -> Signal:
    """Raise when the counter drifts beyond the lot's limit, clear within it; nothing to
    say without both a fresh counter and a quorum of bays."""
    if lot.drift is None:
        return None
    limit = rules.thresholds.drift_limit(lot.capacity or 0)
    return "raise" if abs(lot.drift) > limit else "clear"


def stuck_bays(lot: LotState, now: datetime, rules: AlertRules) -> list[BayState]:
    """The lot's reporting bays whose state began more than ``stuck_after`` ago."""
    return [
        b
        for b in lot.bays
        if b.status in (BayStatus.OCCUPIED, BayStatus.FREE)
        and b.since is not None
        and now - b.since > rules.stuck_after
    ]


def silent_bays(lot: LotState, now: datetime, rules: AlertRules) -> list[BayState]:
    """The lot's bays in service last heard more than ``silent_after`` ago."""
    return [
        b
        for b in lot.bays
        if b.status is not BayStatus.OUT_OF_SERVICE
        and b.last_heard is not None
        and now - b.last_heard > rules.silent_after
    ]


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 1)


def _bays(bays: list[BayState], field: Literal["since", "last_heard"]) -> list[dict[str, Any]]:
    return [
        {"bay_id": b.bay_id, "status": str(b.status), field: getattr(b, field).isoformat()}
        for b in sorted(bays, key=lambda b: b.bay_id)
    ]


def _condition(
    lot: LotState, kind: str, opened: bool, now: datetime, rules: AlertRules
) -> Condition:
    """The condition the engine applies when ``kind`` opens (``opened``) or clears."""
    severity = 1 if opened else 0
    match kind:
        case "fill":
            pct = _pct(lot.occupancy)
            level = rules.fill_share if opened else rules.fill_clear_share
            minutes = rules.fill_for.total_seconds() / 60
            now_is = (
                "closed"
                if lot.status is LotStatus.CLOSED
                else "occupancy unknown"
                if pct is None
                else f"{pct:g} % full"
            )
            message = (
                f"{pct:g} % full for {minutes:g} min (fill level {100 * level:g} %)"
                if opened
                else f"{now_is}: below the clear level ({100 * level:g} %)"
            )
            detail: dict[str, Any] = {"occupied": lot.occupied, "capacity": lot.capacity}
            return Condition(lot.lot_id, kind, severity, now, pct, message, detail)
        case "drift":
            limit = rules.thresholds.drift_limit(lot.capacity or 0)
            drift = lot.drift
            message = (
                f"the counter says {lot.counter_occupied}, the bays {lot.bays_occupied}"
                f" ({drift:+d}, beyond ±{limit}): correct the counter"
                if opened and drift is not None
                else f"the counter agrees with the bays again (within ±{limit})"
            )
            detail = {
                "counter_occupied": lot.counter_occupied,
                "bays_occupied": lot.bays_occupied,
                "limit": limit,
            }
            value = None if drift is None else float(drift)
            return Condition(lot.lot_id, kind, severity, now, value, message, detail)
        case "bays_stuck":
            bays = stuck_bays(lot, now, rules)
            hours = rules.stuck_after.total_seconds() / 3600
            message = (
                f"{len(bays)} bays unchanged for more than {hours:g} h"
                if opened
                else "every bay has changed state since"
            )
            return Condition(
                lot.lot_id, kind, severity, now, len(bays), message, {"bays": _bays(bays, "since")}
            )
        case _:
            bays = silent_bays(lot, now, rules)
            minutes = rules.silent_after.total_seconds() / 60
            message = (
                f"{len(bays)} bay sensors not heard for more than {minutes:g} min"
                if opened
                else "every bay sensor is heard again"
            )
            detail = {"bays": _bays(bays, "last_heard")}
            return Condition(lot.lot_id, kind, severity, now, len(bays), message, detail)


def _signal(kind: str, lot: LotState, now: datetime, rules: AlertRules) -> Signal:
    match kind:
        case "fill":
            return fill_signal(lot, rules)
        case "drift":
            return drift_signal(lot, rules)
        case "bays_stuck":
            return "raise" if stuck_bays(lot, now, rules) else "clear"
        case _:
            return "raise" if silent_bays(lot, now, rules) else "clear"


def _waits(kind: str, rules: AlertRules) -> tuple[timedelta, timedelta]:
    """How long the evidence must hold to raise and to clear ``kind``."""
    match kind:
        case "fill":
            return rules.fill_for, timedelta(0)
        case "drift":
            return rules.drift_for, rules.drift_for
        case _:  # the bays' conditions carry their own durations
            return timedelta(0), timedelta(0)


Holds = Mapping[tuple[str, str], Hold]
"""Each condition's memory, by lot id and kind; absent: closed, nothing pending."""


def evaluate(
    lots: Iterable[LotState], now: datetime, holds: Holds, rules: AlertRules
) -> tuple[dict[tuple[str, str], Hold], list[Condition]]:
    """Judge every lot's conditions at ``now``: the new memory, and the conditions that
    opened or cleared (for :func:`alerts.store.apply`). Lots absent from ``lots`` keep
    their memory."""
    memory = dict(holds)
    changes: list[Condition] = []
    for lot in lots:
        for kind in KINDS:
            key = (lot.lot_id, kind)
            before = memory.get(key, Hold())
            after = debounce(before, _signal(kind, lot, now, rules), now, *_waits(kind, rules))
            memory[key] = after
            if after.open != before.open:
                changes.append(_condition(lot, kind, after.open, now, rules))
    return memory, changes


def escalation(settings: ParkingAlertSettings) -> Escalation:
    """Whom parking alerts reach, and when they move on."""
    return Escalation(
        settings.parking_alert_contacts,
        ack_timeout=timedelta(minutes=settings.parking_ack_timeout_min),
        reminder_every=timedelta(minutes=settings.parking_reminder_min),
    )


def alert_source(
    lots: Mapping[str, str], escalation: Escalation, webhooks: tuple[Webhook, ...] = ()
) -> AlertSource:
    """Parking as the alert engine's client: its lots (names by id) are the subjects,
    each event goes to MQTT and to the ``webhooks`` serving its contact groups."""
    subjects = {lot_id: Subject(lot_id, name, escalation) for lot_id, name in lots.items()}
    return AlertSource(DOMAIN, "lot", subjects, webhooks)
