"""The MQTT broker: where it is, which protocol version, and the topic prefix."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from settings.base import ENV


class BrokerSettings(BaseSettings):
    """A broker URL, or unset for the embedded broker; the topics live under ``topic_prefix``."""

    model_config = ENV

    mqtt_url: str | None = Field(
        default=None,
        description="Broker URL (mqtt://host:port). Unset: an embedded broker is started.",
    )
    mqtt_protocol: Literal["5", "3.1.1"] = Field(
        default="5", description="MQTT version; the embedded broker speaks 3.1.1 only"
    )
    topic_prefix: str = Field(default="city", pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$")

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
