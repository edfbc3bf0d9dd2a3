"""What the Danube monitor watches and whom it tells: gauges, their rules, webhooks.

Read from a TOML file (``SMARTCITY_RIVER_CONFIG``); without one, the demo town's
Turnu Măgurele gauge. Its attention (500 cm) and flood (550 cm) levels are INHGA's
published values; the danger level, the gauge zero and every rule below that is not a
threshold are illustrative defaults, marked as such in ``illustrative`` and meant to be
set per gauge by the people who answer for it. Example file: docs/river.md.
"""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from demo_town import GAUGE_ZERO_M
from demo_town.catalogue import GAUGE_ASSET_ID
from river_monitor.thresholds import GaugeThresholds

Minutes = Annotated[float, Field(gt=0)]


class RiverConfigError(ValueError):
    """The river configuration cannot be used; the message says where and why."""


class GaugeConfig(BaseModel):
    """One gauge: its thresholds on the staff gauge and the rules its alerts follow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: str = Field(min_length=1, description="the gauge's device id in the registry")
    name: str
    quantity: str = "water_level"
    zero_m: float = Field(description="altitude of the gauge zero, m (Constanța datum)")
    attention_cm: float
    flood_cm: float
    danger_cm: float
    illustrative: tuple[str, ...] = Field(
        default=(), description="names of the values above that are not published ones"
    )
    hysteresis_cm: float = Field(
        default=10, gt=0, description="a level must fall this far below a threshold to clear it"
    )
    rise_cm_per_h: float = Field(
        default=3, gt=0, description="trend over rise_window_h that raises a rapid-rise alert"
    )
    rise_window_h: float = Field(default=6, gt=0)
    silence_after_min: Minutes = Field(
        default=240, description="no reading for this long is itself an alert"
    )
    spike_cm_per_h: float = Field(
        default=50,
        gt=0,
        description="faster changes are physically impossible here: flagged, not obeyed",
    )
    spike_tolerance_cm: float = Field(default=5, ge=0)
    ack_timeout_min: Minutes = Field(
        default=15, description="unacknowledged this long: the next contact group is alerted"
    )
    reminder_every_min: Minutes = Field(
        default=10, description="an unacknowledged alert is repeated this often"
    )
    contacts: tuple[str, ...] = Field(
        min_length=1, description="contact groups in escalation order"
    )

    @model_validator(mode="after")
    def _thresholds_increase(self) -> GaugeConfig:
        self.thresholds  # noqa: B018  (raises ValueError if they do not increase)
        return self

    @property
    def thresholds(self) -> GaugeThresholds:
        """The warning thresholds in cm on the staff gauge."""
        return GaugeThresholds(
            self.attention_cm,
            self.flood_cm,
            self.danger_cm,
            danger_is_illustrative="danger_cm" in self.illustrative,
        )

    def surface_m(self, level_cm: float) -> float:
        """The water-surface altitude (m) of a level read on this gauge."""
        return self.zero_m + level_cm / 100.0


class Webhook(BaseModel):
    """An HTTP endpoint receiving the events of some contact groups, signed with HMAC."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    url: HttpUrl
    secret: SecretStr = Field(description="shared HMAC-SHA256 key, whsec_<base64>")
    contacts: tuple[str, ...] = Field(
        default=(), description="contact groups it receives; empty: every group"
    )

    @field_validator("secret")
    @classmethod
    def _usable_secret(cls, secret: SecretStr) -> SecretStr:
        text = secret.get_secret_value()
        try:
            key = base64.b64decode(text.removeprefix("whsec_"), validate=True)
        except ValueError:
            key = b""
        if not text.startswith("whsec_") or not 24 <= len(key) <= 64:
            raise ValueError(
                "must be a Standard Webhooks secret: whsec_ followed by base64 of"
                " 24 to 64 random bytes"
            )
        return secret


class RiverConfig(BaseModel):
    """Every watched gauge and every webhook."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gauges: tuple[GaugeConfig, ...] = Field(min_length=1)
    webhooks: tuple[Webhook, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> RiverConfig:
        for what, names in (
            ("gauge device_id", [g.device_id for g in self.gauges]),
            ("webhook name", [w.name for w in self.webhooks]),
        ):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{what} repeated: {', '.join(repeated)}")
        return self

    def gauge(self, device_id: str) -> GaugeConfig | None:
        """The configuration of a gauge, or None if it is not watched."""
        return next((g for g in self.gauges if g.device_id == device_id), None)


DEMO = RiverConfig(
    gauges=(
        GaugeConfig(
            device_id=GAUGE_ASSET_ID,
            name="Tr. Măgurele (Dunăre)",
            zero_m=GAUGE_ZERO_M,
            attention_cm=500,  # INHGA Danube bulletin, 18.02.2021
            flood_cm=550,  # INHGA bulletin, 04.04.2018: "Tr. Măgurele (550+40)"
            danger_cm=650,
            illustrative=(
                "zero_m",
                "danger_cm",
                "hysteresis_cm",
                "rise_cm_per_h",
                "silence_after_min",
                "spike_cm_per_h",
                "ack_timeout_min",
                "reminder_every_min",
                "contacts",
            ),
            contacts=("duty-officer", "clsu-turnu-magurele", "isu-teleorman"),
        ),
    ),
)
"""The demo town's gauge: published thresholds where there are some (DOMAIN.md)."""


def load(path: Path | None) -> RiverConfig:
    """The configuration in the TOML file at ``path``, or the demo's without one."""
    if path is None:
        return DEMO
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RiverConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RiverConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return RiverConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise RiverConfigError(f"{path}: {problems}") from exc
