"""The ingestion worker: batching, its MQTT session, the write method, the spool, and the
retention and rollup upkeep it runs between batches."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from settings.base import DataSettings
from settings.broker import DEFAULT_INSTANCE, BrokerSettings, hub_client_id
from settings.retention import RetentionSettings

INGEST_ROLE = "ingest"


class IngestSettings(DataSettings, BrokerSettings, RetentionSettings):
    """How a worker reads the stream and writes it (the spool lives in ``data_dir``), and
    the retention it applies."""

    ingest_batch_size: int = Field(default=2000, ge=1)
    ingest_batch_interval_ms: int = Field(default=100, ge=1)
    ingest_client_id: str = Field(
        default=hub_client_id(DEFAULT_INSTANCE, INGEST_ROLE),  # unset: from the instance name
        pattern=r"^[A-Za-z0-9_\-.]+$",
        description="the worker's client id and persistent session; unset:"
        " smartcity-<instance>-ingest",
    )
    ingest_shared_group: str = Field(
        default=f"{INGEST_ROLE}-{DEFAULT_INSTANCE}",  # unset: from the instance name
        pattern=r"^[A-Za-z0-9_\-]*$",
        description="MQTT v5 shared subscription group ($share/<group>/...); unset:"
        " ingest-<instance>; empty: none",
    )
    ingest_receive_maximum: int = Field(
        default=10_000, ge=1, le=65_535, description="unacknowledged QoS 1 messages in flight"
    )
    ingest_write_method: Literal["copy", "unnest"] = "copy"
    ingest_spool_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    ingest_metrics_port: int = Field(default=0, ge=0, le=65535, description="0: no endpoint")
    dead_letter_retention_days: int = Field(
        default=30,
        ge=1,
        description="dead letters not seen again for this many days are deleted by the"
        " ingest workers",
    )

    @model_validator(mode="before")
    @classmethod
    def _name_after_instance(cls, data: Any) -> Any:
        """Unset client id and group carry the instance name, so that the workers of two
        hubs on one broker neither take each other's session nor split one stream."""
        if not isinstance(data, dict):
            return data
        instance = data.get("instance") or DEFAULT_INSTANCE
        if data.get("ingest_client_id") is None:
            data = {**data, "ingest_client_id": hub_client_id(instance, INGEST_ROLE)}
        if data.get("ingest_shared_group") is None:
            data = {**data, "ingest_shared_group": f"{INGEST_ROLE}-{instance}"}
        return data
