"""Air quality's alert conditions: the information and alert thresholds of Directive
2008/50/EC, judged on each station's complete hourly means.

Three conditions per station, each one alert at most in the engine (:mod:`alerts`),
keyed by the station and the pollutant:

- ``o3``: the last complete hour above the information threshold (180 µg/m³: severity 1,
  yellow) or the alert threshold (240: severity 2, orange); a later hour at or below
  180 resolves it, one between the two de-escalates it.
- ``no2`` and ``so2``: the alert threshold (400 and 500 µg/m³) exceeded in each of
  three consecutive complete hours (severity 2); the first hour at or below it resolves
  it. A missing hour breaks the run: three hours are three measured hours.

An hour is judged once complete (its end at or before the evaluation): a partial hour's
mean is not the hourly value the directive speaks of. Without a value for the last
complete hour nothing is said and the alert stays as it is.

The thresholds are exceeded when strictly above (the directive's "exceeded").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.model import AlertSource, Condition, Escalation, Subject, Webhook
from settings import AirAlertSettings

DOMAIN = "air"
"""Air quality's name in the alert engine: events ``air.alert.*``, MQTT topics
``{prefix}/events/air/{station_id}/{kind}``, notification channel ``air_events``."""
KINDS = ("o3", "no2", "so2")
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class AlertRules:
    """The thresholds (µg/m³, hourly means) and the run of hours NO2 and SO2 need."""

    o3_information: float = 180.0
    o3_alert: float = 240.0
    no2_alert: float = 400.0
    so2_alert: float = 500.0
    hours: int = 3

    @classmethod
    def from_settings(cls, settings: AirAlertSettings) -> AlertRules:
        """The rules ``SMARTCITY_AIR_*`` set."""
        return cls(
            settings.air_o3_information,
            settings.air_o3_alert,
            settings.air_no2_alert,
            settings.air_so2_alert,
            settings.air_alert_hours,
        )


def _o3(hourly: Mapping[datetime, float], last: datetime, rules: AlertRules) -> Condition | None:
    value = hourly.get(last)
    if value is None:
        return None
    severity = 2 if value > rules.o3_alert else 1 if value > rules.o3_information else 0
    threshold = {2: rules.o3_alert, 1: rules.o3_information}.get(severity)
    message = (
        f"O3 {value:.0f} µg/m³ in the hour from {last:%H:%M} UTC, above the"
        f" {'alert' if severity == 2 else 'information'} threshold of {threshold:g}"
        if severity
        else f"O3 {value:.0f} µg/m³, at or below {rules.o3_information:g}"
    )
    detail = {"hour": last.isoformat(), "threshold": threshold}
    return Condition("", "o3", severity, last + HOUR, value, message, detail)


def _run(
    kind: str, hourly: Mapping[datetime, float], last: datetime, threshold: float, hours: int
) -> Condition | None:
    value = hourly.get(last)
    if value is None:
        return None
    run = [hourly.get(last - k * HOUR) for k in range(hours)]
    above = all(v is not None and v > threshold for v in run)
    name = kind.upper()
    if above:
        message = (
            f"{name} above the alert threshold of {threshold:g} µg/m³ for {hours} consecutive"
            f" hours (last: {value:.0f} in the hour from {last:%H:%M} UTC)"
        )
        severity = 2
    else:
        message = f"{name} {value:.0f} µg/m³ in the hour from {last:%H:%M} UTC"
        severity = 0 if value <= threshold else -1
    if severity < 0:  # above, but not yet for long enough: nothing to say
        return None
    detail = {
        "hour": last.isoformat(),
        "threshold": threshold,
        "hours": [None if v is None else round(v, 1) for v in reversed(run)],
    }
    return Condition("", kind, severity, last + HOUR, value, message, detail)


def judge(
    station_id: str,
    hourly: Mapping[str, Mapping[datetime, float]],
    last: datetime,
    rules: AlertRules,
) -> list[Condition]:
    """The station's conditions as the hour starting ``last`` (the last complete one)
    leaves them; a condition with nothing to say (no value for the hour, NO2 above its
    threshold for fewer hours than needed) is left out."""
    found = [
        _o3(hourly.get("o3", {}), last, rules),
        _run("no2", hourly.get("no2", {}), last, rules.no2_alert, rules.hours),
        _run("so2", hourly.get("so2", {}), last, rules.so2_alert, rules.hours),
    ]
    return [
        Condition(station_id, c.kind, c.severity, c.at, c.value, c.message, c.detail)
        for c in found
        if c is not None
    ]


def escalation(settings: AirAlertSettings) -> Escalation:
    """Whom air-quality alerts reach, and when they move on."""
    return Escalation(
        settings.air_alert_contacts,
        ack_timeout=timedelta(minutes=settings.air_ack_timeout_min),
        reminder_every=timedelta(minutes=settings.air_reminder_min),
    )


def alert_source(
    stations: Mapping[str, str], escalation: Escalation, webhooks: tuple[Webhook, ...] = ()
) -> AlertSource:
    """Air quality as the alert engine's client: its stations (names by id) are the
    subjects, each event goes to MQTT and to the ``webhooks`` serving its contact groups."""
    subjects = {sid: Subject(sid, name, escalation) for sid, name in stations.items()}
    return AlertSource(DOMAIN, "station", subjects, webhooks)
