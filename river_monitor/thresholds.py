"""Warning thresholds of a river gauge and the warning code of a level.

Levels are in cm on the staff gauge (relative to the gauge zero) and may be negative.
Turnu Măgurele's values come from INHGA Danube bulletins (see DOMAIN.md): attention
500 cm (18.02.2021) and flood 550 cm (04.04.2018). The danger level is not published
for this station: 650 cm is an illustrative default, to be configured per gauge.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class WarningCode(IntEnum):
    """Romanian hydrological warning colours, ordered by severity."""

    NONE = 0
    YELLOW = 1  # attention level (cota de atenție) exceeded
    ORANGE = 2  # flood level (cota de inundație) exceeded
    RED = 3  # danger level (cota de pericol) exceeded


@dataclass(frozen=True)
class GaugeThresholds:
    """A gauge's defence thresholds in cm on the staff gauge."""

    attention_cm: float
    flood_cm: float
    danger_cm: float
    danger_is_illustrative: bool = False

    def __post_init__(self) -> None:
        """Refuse thresholds that are not strictly increasing."""
        if not self.attention_cm < self.flood_cm < self.danger_cm:
            raise ValueError(
                "thresholds must increase: attention < flood < danger, got "
                f"{self.attention_cm}, {self.flood_cm}, {self.danger_cm}"
            )

    def code(self, level_cm: float) -> WarningCode:
        """The warning code of a level: a threshold is exceeded when the level reaches it."""
        if level_cm >= self.danger_cm:
            return WarningCode.RED
        if level_cm >= self.flood_cm:
            return WarningCode.ORANGE
        if level_cm >= self.attention_cm:
            return WarningCode.YELLOW
        return WarningCode.NONE


TURNU_MAGURELE = GaugeThresholds(
    attention_cm=500, flood_cm=550, danger_cm=650, danger_is_illustrative=True
)
