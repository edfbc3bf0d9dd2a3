"""The parking model's own rules: the drift limit, when an operator's decision holds, a
lot's occupancy and its JSON document, each figure worked out here by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parking.model import (
    BayState,
    BayStatus,
    Closure,
    Flag,
    LotState,
    LotStatus,
    Source,
    Thresholds,
)

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("capacity", "limit"),
    [(0, 2), (40, 2), (59, 3), (100, 5), (139, 7), (1000, 50)],
)
def test_the_drift_limit_is_two_spaces_or_five_percent_whichever_is_more(
    capacity: int, limit: int
) -> None:
    # 59 * 5 % = 2.95 -> 3; 139 * 5 % = 6.95 -> 7
    assert Thresholds().drift_limit(capacity) == limit


def test_the_drift_limit_follows_its_settings() -> None:
    assert Thresholds(drift_min_spaces=10).drift_limit(100) == 10
    assert Thresholds(drift_share=0.2).drift_limit(100) == 20


def test_a_decision_holds_from_its_start_until_just_before_its_end() -> None:
    until = NOW + timedelta(hours=1)
    closure = Closure("works", until, NOW)
    assert not closure.active(NOW - timedelta(microseconds=1))
    assert closure.active(NOW)
    assert closure.active(until - timedelta(microseconds=1))
    assert not closure.active(until)
    # until undone
    forever = Closure("works", None, NOW)
    assert forever.active(NOW + timedelta(days=3650))
    assert not forever.active(NOW - timedelta(seconds=1))


def _lot(occupied: int | None, capacity: int | None, **more: object) -> LotState:
    return LotState(
        lot_id="lot",
        name="Lot",
        status=LotStatus.OPEN,
        source=Source.BAYS,
        capacity=capacity,
        occupied=occupied,
        free=None if occupied is None or capacity is None else capacity - occupied,
        as_of=NOW,
        data_age_s=61.26,
        **more,  # type: ignore[arg-type]
    )


def test_occupancy_is_the_occupied_share_or_none() -> None:
    assert _lot(76, 139).occupancy == 76 / 139
    assert _lot(0, 10).occupancy == 0.0
    assert _lot(None, 10).occupancy is None
    assert _lot(5, None).occupancy is None
    assert _lot(0, 0).occupancy is None


def test_a_lots_document_rounds_and_leaves_its_bays_out_unless_asked() -> None:
    service = Closure("line painting", None, NOW - timedelta(hours=1), "ana")
    bay = BayState("b1", "b1-sensor", BayStatus.OUT_OF_SERVICE, None, NOW, service)
    lot = _lot(2, 3, flags=(Flag("bays_silent", "1 of 3 bays not reporting"),), bays=(bay,))
    found = lot.document()
    assert found["occupancy"] == 0.6667
    assert found["data_age_s"] == 61.3
    assert found["as_of"] == "2025-06-02T09:00:00+00:00"
    assert found["status"] == "open" and found["source"] == "bays"
    assert found["flags"] == [{"code": "bays_silent", "message": "1 of 3 bays not reporting"}]
    assert "bays" not in found
    bays = lot.document(with_bays=True)["bays"]
    assert bays == [
        {
            "bay_id": "b1",
            "device_id": "b1-sensor",
            "status": "out_of_service",
            "since": None,
            "last_heard": "2025-06-02T09:00:00+00:00",
            "out_of_service": {
                "reason": "line painting",
                "until": None,
                "since": "2025-06-02T08:00:00+00:00",
                "by": "ana",
            },
        }
    ]
    assert bays[0] == bay.document()


def test_a_document_without_figures_keeps_its_nones() -> None:
    lot = LotState("lot", "Lot", LotStatus.UNKNOWN, Source.NONE, None, None, None, None, None)
    found = lot.document()
    assert (found["occupancy"], found["data_age_s"], found["as_of"]) == (None, None, None)
    assert found["flags"] == []
