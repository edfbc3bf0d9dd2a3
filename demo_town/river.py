"""The demo town's river configuration: the Turnu Măgurele gauge on the Danube.

The demo provides it; the river monitor knows no town. Its attention (500 cm) and
flood (550 cm) levels are INHGA's published values (DOMAIN.md); the danger level, the
gauge zero and every rule that is not a threshold are illustrative defaults, marked as
such in ``illustrative``.
"""

from __future__ import annotations

from pathlib import Path

from demo_town.catalogue import GAUGE_ASSET_ID
from demo_town.terrain import GAUGE_ZERO_M
from river_monitor.config import GaugeConfig, RiverConfig, load

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


def river_config(path: Path | None) -> RiverConfig:
    """The river configuration in the TOML file at ``path``; without one, the demo's."""
    return DEMO if path is None else load(path)
