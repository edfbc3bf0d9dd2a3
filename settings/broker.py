"""The MQTT broker: where it is, how the hub names itself on it, which protocol version,
the topic prefix, and the TLS files of the broker the hub generates configuration for."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from settings.base import ENV

TLS_SCHEMES = frozenset({"mqtts", "ssl"})
PLAIN_SCHEMES = frozenset({"mqtt", "tcp"})
PLAIN_PORT = 1883
TLS_PORT = 8883
DEFAULT_INSTANCE = "hub"
NAME_PATTERN = r"^[A-Za-z0-9_\-]+$"


def hub_client_id(instance: str, role: str) -> str:
    """The MQTT client id of one of a hub's connections, e.g. ``smartcity-hub-ingest``.

    Two clients with one id cannot both be connected: the broker drops the older one,
    which reconnects and drops the newer, every few seconds. The instance name keeps the
    hubs sharing a broker apart.
    """
    return f"smartcity-{instance}-{role}"


class BrokerSettings(BaseSettings):
    """A broker URL, or unset for the embedded broker; the topics live under ``topic_prefix``."""

    model_config = ENV

    mqtt_url: str | None = Field(
        default=None,
        description="Broker URL (mqtt://host:1883, mqtts://host:8883 for TLS). Unset: an"
        " embedded broker is started.",
    )
    mqtt_protocol: Literal["5", "3.1.1"] = Field(
        default="5", description="MQTT version; the embedded broker speaks 3.1.1 only"
    )
    topic_prefix: str = Field(default="city", pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$")
    instance: str = Field(
        default=DEFAULT_INSTANCE,
        pattern=NAME_PATTERN,
        description="this hub's name in its MQTT client ids and shared subscription group:"
        " hubs sharing a broker need different names, or they take each other's sessions;"
        " keep it stable, a persistent session is found again by it",
    )
    mqtt_ca_file: Path | None = Field(
        default=None,
        description="CA certificate(s) the hub's clients trust for an mqtts:// broker"
        " (unset: the system's); written as the generated listeners' cafile",
    )

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in PLAIN_SCHEMES | TLS_SCHEMES or not parts.hostname:
            raise ValueError(
                "SMARTCITY_MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883,"
                f" got {value!r}"
            )
        return value

    def client_id(self, role: str) -> str:
        """The MQTT client id of one of this hub's connections (:func:`hub_client_id`)."""
        return hub_client_id(self.instance, role)


class BrokerTlsSettings(BaseSettings):
    """The certificate and key of the broker's TLS listeners in the Mosquitto configuration
    the hub generates (``smartcity devices broker-acl``); the operator provides them."""

    model_config = ENV

    broker_cert_file: Path | None = Field(
        default=None,
        description="the broker's certificate (PEM, intermediates after it) for the"
        " generated TLS listeners",
    )
    broker_key_file: Path | None = Field(
        default=None, description="the private key (PEM) of broker_cert_file"
    )


class BrokerAddress:
    """Host, port, TLS and optional credentials parsed from an ``mqtt://`` or ``mqtts://`` URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.tls: bool = parts.scheme in TLS_SCHEMES
        self.host: str = parts.hostname or "127.0.0.1"
        self.port: int = parts.port or (TLS_PORT if self.tls else PLAIN_PORT)
        self.username: str | None = parts.username
        self.password: str | None = parts.password

    def __repr__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return f"BrokerAddress({scheme}://{self.host}:{self.port})"
