from __future__ import annotations

import pytest

from river_monitor.thresholds import TURNU_MAGURELE, GaugeThresholds, WarningCode


@pytest.mark.parametrize(
    ("level", "code"),
    [
        (-42, WarningCode.NONE),
        (499.9, WarningCode.NONE),
        (500, WarningCode.YELLOW),
        (549, WarningCode.YELLOW),
        (550, WarningCode.ORANGE),
        (590, WarningCode.ORANGE),
        (650, WarningCode.RED),
        (700, WarningCode.RED),
    ],
)
def test_turnu_magurele_codes(level: float, code: WarningCode) -> None:
    assert TURNU_MAGURELE.code(level) is code


def test_thresholds_must_increase() -> None:
    with pytest.raises(ValueError, match="attention < flood < danger"):
        GaugeThresholds(550, 500, 650)
