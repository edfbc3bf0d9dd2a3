"""The carbon inventory: which emission factors and which baseline year
(``SMARTCITY_CARBON_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from settings.base import ENV


class CarbonSettings(BaseSettings):
    """Where the emission factors come from and which year the inventory compares with."""

    model_config = ENV

    carbon_factors_file: Path | None = Field(
        default=None,
        description="a TOML factor table replacing the shipped one (carbon/factors.toml);"
        " unset: the shipped table",
    )
    carbon_baseline_year: int = Field(
        default=2019,
        ge=1990,
        le=2100,
        description="the baseline emission inventory's year (Covenant of Mayors); 2019 is"
        " an illustrative default, the year of the latest confirmed grid factor",
    )
