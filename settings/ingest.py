"""The ingestion worker: batching, its MQTT session, the write method and the spool."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from settings.base import DataSettings
from settings.broker import BrokerSettings


class IngestSettings(DataSettings, BrokerSettings):
    """How a worker reads the stream and writes it (the spool lives in ``data_dir``)."""

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
    dead_letter_retention_days: int = Field(
        default=30,
        ge=1,
        description="dead letters not seen again for this many days are deleted by the"
        " ingest workers",
    )
