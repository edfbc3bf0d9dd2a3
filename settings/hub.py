"""Every concern's settings composed, for the CLI that starts the hub's processes."""

from __future__ import annotations

from settings.api import ApiSettings
from settings.backup import BackupSettings
from settings.broker import BrokerTlsSettings
from settings.ingest import IngestSettings


class Settings(ApiSettings, IngestSettings, BrokerTlsSettings, BackupSettings):
    """Configuration of every hub process; construct it explicitly, never at import time."""

    seed: int = 42
