"""A Mosquitto restart (persistence on) in the middle of a stream, against the real broker."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ingest_faults  # noqa: E402

pytestmark = pytest.mark.timeout(300)


def test_worker_stores_every_reading_once_across_a_broker_restart(tmp_path: Path) -> None:
    if ingest_faults.shutil.which("mosquitto", path="/usr/sbin:/usr/bin") is None:
        pytest.fail("mosquitto is required (scripts/test-deps.sh installs it)")
    result = ingest_faults.broker_restart(tmp_path, messages=4000, rate=800)
    assert (tmp_path / "mosquitto.db").exists(), "the broker saved no persistence file"
    assert result["exactly_once"], result
    # the restart happened mid-stream, with readings on both sides of it
    assert 0 < result["stopped_at_rows"] < 4000, result  # type: ignore[operator]
