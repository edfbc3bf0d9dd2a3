"""Air-quality alerts: the information and alert thresholds of Directive 2008/50/EC and
whom the alerts reach (``SMARTCITY_AIR_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from settings.broker import BrokerSettings


class AirAlertSettings(BrokerSettings):
    """The air-quality alerts' thresholds (µg/m³, hourly means), timing and contacts (they
    publish on the broker). The defaults are the directive's (``../shared/DOMAIN.md``)."""

    air_o3_information: float = Field(
        default=180.0, gt=0, description="O3 information threshold (hourly mean)"
    )
    air_o3_alert: float = Field(default=240.0, gt=0, description="O3 alert threshold (hourly)")
    air_no2_alert: float = Field(
        default=400.0, gt=0, description="NO2 alert threshold, over consecutive hours"
    )
    air_so2_alert: float = Field(
        default=500.0, gt=0, description="SO2 alert threshold, over consecutive hours"
    )
    air_alert_hours: int = Field(
        default=3, ge=1, le=24, description="consecutive hours above the NO2/SO2 threshold"
    )
    air_alert_tick_s: float = Field(
        default=300.0, gt=0, le=3600, description="how often the stations are evaluated"
    )
    air_alert_contacts: tuple[str, ...] = Field(
        default=("environment-duty", "emergency"),
        min_length=1,
        description="contact groups in escalation order",
    )
    air_ack_timeout_min: float = Field(
        default=60.0, gt=0, description="unacknowledged this long: the next group is told"
    )
    air_reminder_min: float = Field(
        default=30.0, gt=0, description="an unacknowledged alert is repeated this often"
    )
    air_webhooks_file: Path | None = Field(
        default=None,
        description="TOML file of the webhooks air-quality alerts reach ([[webhooks]] tables,"
        " as parking's: docs/air.md); unset: none",
    )
    air_retry_max_s: float = Field(
        default=60.0, gt=0, description="longest wait between webhook/MQTT delivery retries"
    )

    @model_validator(mode="after")
    def _information_below_alert(self) -> AirAlertSettings:
        if self.air_o3_information >= self.air_o3_alert:
            raise ValueError(
                "SMARTCITY_AIR_O3_INFORMATION must be below SMARTCITY_AIR_O3_ALERT"
                f" ({self.air_o3_information:g} >= {self.air_o3_alert:g})"
            )
        return self
