"""The Danube monitor: which gauges (a TOML file), its timer tick and delivery retries."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from settings.broker import BrokerSettings


class RiverSettings(BrokerSettings):
    """The river configuration file and the monitor's timing (it publishes on the broker)."""

    river_config: Path | None = Field(
        default=None,
        description="TOML file of gauges and webhooks (docs/river.md); unset: the demo gauge",
    )
    river_tick_s: float = Field(
        default=1.0, gt=0, le=60, description="how often silence and alert timers are checked"
    )
    river_retry_max_s: float = Field(
        default=60.0, gt=0, description="longest wait between webhook/MQTT delivery retries"
    )
