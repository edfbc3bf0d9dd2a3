"""Parking alerts: when a lot counts as too full, a bay sensor as stuck or silent, a
counter as drifting, and whom the alerts reach (``SMARTCITY_PARKING_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from settings.broker import BrokerSettings


class ParkingAlertSettings(BrokerSettings):
    """The parking alerts' thresholds, timing and contacts (they publish on the broker).

    The defaults suit the demo's lots: a lot 90 % full for a quarter of an hour has a
    queue at its gate soon; it clears below 85 %, so a lot hovering at 90 % does not flap.
    """

    parking_fill_pct: float = Field(
        default=90.0, gt=0, le=100, description="occupancy (%) that raises a fill alert"
    )
    parking_fill_clear_pct: float = Field(
        default=85.0,
        gt=0,
        le=100,
        description="a fill alert resolves once occupancy falls below this (%)",
    )
    parking_fill_min: float = Field(
        default=15.0, ge=0, description="minutes above the fill level before it is raised"
    )
    parking_stuck_h: float = Field(
        default=24.0, gt=0, description="a bay in one state longer than this (h) is stuck"
    )
    parking_silent_min: float = Field(
        default=30.0, gt=0, description="a bay sensor not heard for this long (min) is silent"
    )
    parking_drift_min: float = Field(
        default=15.0,
        ge=0,
        description="minutes a counter drifts beyond the lot's limit before it is raised,"
        " and within it before it resolves",
    )
    parking_alert_tick_s: float = Field(
        default=60.0, gt=0, le=3600, description="how often the lots are evaluated"
    )
    parking_alert_contacts: tuple[str, ...] = Field(
        default=("parking-operator", "parking-manager"),
        min_length=1,
        description="contact groups in escalation order",
    )
    parking_ack_timeout_min: float = Field(
        default=30.0, gt=0, description="unacknowledged this long: the next group is told"
    )
    parking_reminder_min: float = Field(
        default=15.0, gt=0, description="an unacknowledged alert is repeated this often"
    )
    parking_webhooks_file: Path | None = Field(
        default=None,
        description="TOML file of the webhooks parking alerts reach ([[webhooks]] tables, as"
        " in the river's file: docs/parking.md); unset: none",
    )
    parking_retry_max_s: float = Field(
        default=60.0, gt=0, description="longest wait between webhook/MQTT delivery retries"
    )

    @model_validator(mode="after")
    def _clear_below_raise(self) -> ParkingAlertSettings:
        if self.parking_fill_clear_pct >= self.parking_fill_pct:
            raise ValueError(
                "SMARTCITY_PARKING_FILL_CLEAR_PCT must be below SMARTCITY_PARKING_FILL_PCT"
                f" ({self.parking_fill_clear_pct:g} >= {self.parking_fill_pct:g}), or a lot"
                " at the level would raise and resolve on every reading"
            )
        return self
