"""What every settings class shares: the environment prefix and the data directory."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ENV = SettingsConfigDict(env_prefix="SMARTCITY_", extra="ignore")


class DataSettings(BaseSettings):
    """The directory holding the embedded database, the ingest spool and demo files."""

    model_config = ENV

    data_dir: Path = Path("var")
