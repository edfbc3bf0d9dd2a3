"""What the Danube monitor watches and whom it tells: gauges, their rules, webhooks.

Read from a TOML file (``SMARTCITY_RIVER_CONFIG``; example in docs/river.md). The
values that are not published thresholds (the danger level, the gauge zero, every rule
below) are meant to be set per gauge by the people who answer for it, and a gauge says
which of its values are only illustrative in ``illustrative``. The demo town provides
its own configuration (``demo_town/river.py``).

To the alert engine (:mod:`alerts`) the river is one domain, ``river``: its gauges are
the subjects, each with its contact groups and timers (:attr:`RiverConfig.alert_source`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts.config import ConfigFileError, read_toml, refuse_repeated
from alerts.model import AlertSource, Escalation, Subject, Webhook
from river_monitor.thresholds import GaugeThresholds

DOMAIN = "river"
"""The river's name in the alert engine: events ``river.alert.*``, MQTT topics
``{prefix}/events/river/...``, notification channel ``river_events``."""

Minutes = Annotated[float, Field(gt=0)]


class RiverConfigError(ConfigFileError):
    """The river configuration cannot be used; the message says where and why."""


class GaugeConfig(BaseModel):
    """One gauge: its thresholds on the staff gauge and the rules its alerts follow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: str = Field(min_length=1, description="the gauge's device id in the registry")
    name: str
    quantity: str = "water_level"
    zero_m: float = Field(description="altitude of the gauge zero, m (Constanța datum)")
    attention_cm: float
    flood_cm: float
    danger_cm: float
    illustrative: tuple[str, ...] = Field(
        default=(), description="names of the values above that are not published ones"
    )
    hysteresis_cm: float = Field(
        default=10, gt=0, description="a level must fall this far below a threshold to clear it"
    )
    rise_cm_per_h: float = Field(
        default=3, gt=0, description="trend over rise_window_h that raises a rapid-rise alert"
    )
    rise_window_h: float = Field(default=6, gt=0)
    silence_after_min: Minutes = Field(
        default=240, description="no reading for this long is itself an alert"
    )
    spike_cm_per_h: float = Field(
        default=50,
        gt=0,
        description="faster changes are physically impossible here: flagged, not obeyed",
    )
    spike_tolerance_cm: float = Field(default=5, ge=0)
    ack_timeout_min: Minutes = Field(
        default=15, description="unacknowledged this long: the next contact group is alerted"
    )
    reminder_every_min: Minutes = Field(
        default=10, description="an unacknowledged alert is repeated this often"
    )
    contacts: tuple[str, ...] = Field(
        min_length=1, description="contact groups in escalation order"
    )

    @model_validator(mode="after")
    def _thresholds_increase(self) -> GaugeConfig:
        self.thresholds  # noqa: B018  (raises ValueError if they do not increase)
        return self

    @property
    def thresholds(self) -> GaugeThresholds:
        """The warning thresholds in cm on the staff gauge."""
        return GaugeThresholds(
            self.attention_cm,
            self.flood_cm,
            self.danger_cm,
            danger_is_illustrative="danger_cm" in self.illustrative,
        )

    def surface_m(self, level_cm: float) -> float:
        """The water-surface altitude (m) of a level read on this gauge."""
        return self.zero_m + level_cm / 100.0

    @property
    def escalation(self) -> Escalation:
        """Whom its alerts reach, and when they move on."""
        return Escalation(
            self.contacts,
            ack_timeout=timedelta(minutes=self.ack_timeout_min),
            reminder_every=timedelta(minutes=self.reminder_every_min),
        )


class RiverConfig(BaseModel):
    """Every watched gauge and every webhook."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gauges: tuple[GaugeConfig, ...] = Field(min_length=1)
    webhooks: tuple[Webhook, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> RiverConfig:
        refuse_repeated("gauge device_id", (g.device_id for g in self.gauges))
        refuse_repeated("webhook name", (w.name for w in self.webhooks))
        return self

    def gauge(self, device_id: str) -> GaugeConfig | None:
        """The configuration of a gauge, or None if it is not watched."""
        return next((g for g in self.gauges if g.device_id == device_id), None)

    @property
    def alert_source(self) -> AlertSource:
        """The river as the alert engine's client (built anew on each access)."""
        subjects = {g.device_id: Subject(g.device_id, g.name, g.escalation) for g in self.gauges}
        return AlertSource(DOMAIN, "gauge", subjects, self.webhooks)


def load(path: Path) -> RiverConfig:
    """The configuration in the TOML file at ``path``."""
    return read_toml(path, RiverConfig, RiverConfigError)
