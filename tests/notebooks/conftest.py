"""A demo hub for the notebooks: the demo town as ``smartcity demo`` loads it (smaller:
1,500 parcels), its history filled, one tick of live readings, served by ``smartcity
serve`` on loopback, with a planner's API key. One per module: the four notebooks share it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from auth.principal import Role
from carbon.factors import default_table
from harness.credentials import api_key
from harness.live import served
from hub.demo_data import load_demo_town
from hub.demo_history import fill_demo_history
from tests import backends
from tests.simulator_tick import write_simulator_tick

SEED = 42
PARCELS = 1500


@dataclass(frozen=True)
class DemoHub:
    """A served demo hub: its base URL and an API key the notebooks send."""

    url: str
    key: str


def build_demo_hub(url: str, workdir: Path) -> None:
    """Load the demo town into the empty database ``url`` and fill what a demo start fills
    (lots' weeks, meters' year, invoices), then one simulator tick of live readings."""
    now = datetime.now(UTC)
    load_demo_town(url, workdir, SEED, parcels=PARCELS)
    with psycopg.connect(url) as conn:
        fill_demo_history(conn, SEED, now, workdir / "carbon", default_table())
        write_simulator_tick(conn, now, SEED)


@pytest.fixture(scope="module")
def demo_hub(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHub]:
    """The demo hub, served; a planner's key (the carbon scenarios need the role)."""
    with backends.fresh_database(pg_server) as url:
        build_demo_hub(url, tmp_path_factory.mktemp("demo"))
        key = api_key(url, Role.PLANNER, name="notebooks")
        with served(url) as base:
            yield DemoHub(base, key)
