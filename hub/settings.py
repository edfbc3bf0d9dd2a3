"""One settings object for the hub, read from ``SMARTCITY_*`` environment variables.

Unset URLs mean "use the embedded default": an embedded PostgreSQL server in the data
directory and an embedded MQTT broker on a free loopback port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of every hub process; construct it explicitly, never at import time."""

    model_config = SettingsConfigDict(env_prefix="SMARTCITY_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://...). Unset: embedded PostgreSQL in data_dir.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="Broker URL (mqtt://host:port). Unset: an embedded broker is started.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    access_log: bool = Field(default=False, description="log every HTTP request of the API")
    data_dir: Path = Path("var")
    topic_prefix: str = Field(default="city", pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$")
    seed: int = 42
    db_pool_max_size: int = Field(default=8, ge=1, description="API connections to PostgreSQL")
    mqtt_protocol: Literal["5", "3.1.1"] = Field(
        default="5", description="MQTT version; the embedded broker speaks 3.1.1 only"
    )
    ingest_batch_size: int = Field(default=2000, ge=1)
    ingest_batch_interval_ms: int = Field(default=100, ge=1)
    ingest_client_id: str = Field(default="smartcity-ingest", pattern=r"^[A-Za-z0-9_\-.]+$")
    ingest_shared_group: str = Field(
        default="ingest",
        pattern=r"^[A-Za-z0-9_\-]*$",
        description="MQTT v5 shared subscription group ($share/<group>/...); empty: none",
    )
    ingest_receive_maximum: int = Field(
        default=10_000, ge=1, le=65_535, description="unacknowledged QoS 1 messages in flight"
    )
    ingest_write_method: Literal["copy", "unnest"] = "copy"
    ingest_spool_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    ingest_metrics_port: int = Field(default=0, ge=0, le=65535, description="0: no endpoint")
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

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in {"postgresql", "postgres"}:
            raise ValueError(f"SMARTCITY_DATABASE_URL must start with postgresql://, got {value!r}")
        return value or None

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
            raise ValueError(f"SMARTCITY_MQTT_URL must look like mqtt://host:1883, got {value!r}")
        return value


class BrokerAddress:
    """Host, port and optional credentials parsed from an ``mqtt://`` URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host: str = parts.hostname or "127.0.0.1"
        self.port: int = parts.port or 1883
        self.username: str | None = parts.username
        self.password: str | None = parts.password

    def __repr__(self) -> str:
        return f"BrokerAddress({self.host}:{self.port})"
