"""The river as the alert engine's first client: a gauge's condition changes as
:class:`alerts.model.Condition`, each with a line for the people who read it.

The engine (:mod:`alerts`) owns the lifecycle, the history and the deliveries; the
river's part is what its four conditions (:mod:`river_monitor.conditions`) mean.
"""

from __future__ import annotations

from alerts.model import CODES, Condition
from river_monitor.conditions import Change
from river_monitor.config import GaugeConfig

_THRESHOLD = {1: "attention", 2: "flood", 3: "danger"}


def message(gauge: GaugeConfig, change: Change) -> str:
    """What a change of one of the gauge's conditions means, in one line."""
    detail, severity = change.detail, change.severity
    match change.kind:
        case "level" if severity:
            name = _THRESHOLD[severity]
            reached = getattr(gauge, f"{name}_cm")
            return f"{change.value:g} cm: {CODES[severity]}, {name} level ({reached:g} cm) reached"
        case "level":
            return f"{change.value:g} cm: below the attention level ({gauge.attention_cm:g} cm)"
        case "rise" if severity:
            onset = gauge.rise_cm_per_h * severity
            return (
                f"rising {detail['cm_per_h']:g} cm/h over {gauge.rise_window_h:g} h"
                f" ({CODES[severity]} from {onset:g} cm/h)"
            )
        case "rise":
            return f"rise slowed to {detail['cm_per_h']:g} cm/h"
        case "silence" if severity:
            return f"no reading for {detail['silent_min']:g} min"
        case "silence":
            return "readings arrive again"
        case "clock" if severity:
            return (
                f"reading dated {detail['ahead_s']:g} s after it arrived: the gauge's clock"
                " runs ahead; its readings are taken as of their arrival"
            )
        case "clock":
            return "readings dated in time again"
        case "spike" if severity:
            return (
                f"{detail['suspect_cm']:g} cm not believed: {detail['rate_cm_per_h']:g} cm/h"
                f" is faster than the river moves ({detail['limit_cm_per_h']:g} cm/h)"
            )
        case _:  # a spike cleared
            if "confirmed_by" in detail:
                return f"the jump is real: confirmed by {detail['confirmed_by']} readings"
            return "readings plausible again"


def condition(gauge: GaugeConfig, change: Change) -> Condition:
    """A gauge's condition change as the alert engine takes it."""
    return Condition(
        subject_id=change.gauge_id,
        kind=change.kind,
        severity=change.severity,
        at=change.at,
        value=change.value,
        message=message(gauge, change),
        detail=change.detail,
    )
