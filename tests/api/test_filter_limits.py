"""A filter's size is bounded before it is parsed, and no filter can take a process down
or hold it.

The probe (issue 13) killed the API process with ~2,000 nested parentheses or ``NOT (``
in a 4 KB GET (a stack overflow in cql2-rs aborts the process), and got a 500 from 500
nested ``NOT (`` (Python's recursion limit). Here the same requests get a 400 naming the
limit, from the TestClient and from a real ``smartcity serve`` process, which must still
answer afterwards. Found on the way: 30 unclosed parentheses (50 bytes, within the depth
limit) would keep cql2-rs backtracking for days, the GIL held; the parse is given up
after its time budget.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from fastapi.testclient import TestClient

from api.filter_parser import PARSE_TIMEOUT_S, FilterParser
from gis_layers.cql2_parse import MAX_FILTER_DEPTH, MAX_FILTER_LENGTH
from gis_layers.errors import FilterError
from harness.credentials import key_headers
from harness.live import served
from tests.api.lots import WGS, lots_client, lots_database  # noqa: F401  (fixture)


def _nots(n: int) -> str:
    return "NOT (" * n + "levels > 4" + ")" * n


def _parentheses(n: int) -> str:
    return "(" * n + "levels > 4" + ")" * n


def _json_nots(n: int) -> str:
    comparison = json.dumps({"op": ">", "args": [{"property": "levels"}, 4]})
    return '{"op": "not", "args": [' * n + comparison + "]}" * n


# what killed the process (2,000), what was a 500 (500), and every other way to nest
DEEP = {
    "2000 NOT (": {"filter": _nots(2000)},
    "2000 parentheses": {"filter": _parentheses(2000)},
    "500 NOT (": {"filter": _nots(500)},
    "4000 bare NOT": {"filter": "NOT " * 4000 + "levels > 4"},
    "4000 signs": {"filter": "levels = " + "-" * 4000 + "4"},
    "2000 nested lists": {"filter": "levels IN (" + "(" * 2000 + "4" + ")" * 2000 + ")"},
    "cql2-json 500 not": {"filter": _json_nots(500), "filter-lang": "cql2-json"},
}
# malformed, within the depth limit: cql2-rs's backtracking doubles with each group
SLOW = {
    "30 unclosed parentheses": {"filter": "(" * 30 + "levels > 4 AND"},
    "24 NOT ( failing inside": {"filter": "NOT (" * 24 + "levels >" + ")" * 24},
}


@pytest.mark.parametrize("params", DEEP.values(), ids=DEEP.keys())
def test_a_deep_filter_is_refused_naming_the_limit(
    lots_client: TestClient,  # noqa: F811
    params: dict[str, str],
) -> None:
    response = lots_client.get("/collections/lots/items", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]  # the longer ones are past the length limit too
    assert f"the limit is {MAX_FILTER_DEPTH}" in detail or f"{MAX_FILTER_LENGTH} char" in detail


def test_a_long_filter_is_refused_naming_the_limit(lots_client: TestClient) -> None:  # noqa: F811
    flat = " OR ".join(f"levels = {k % 10}" for k in range(MAX_FILTER_LENGTH // 10))
    assert len(flat) > MAX_FILTER_LENGTH
    response = lots_client.get("/collections/lots/items", params={"filter": flat})
    assert response.status_code == 400, response.text
    assert f"at most {MAX_FILTER_LENGTH} characters" in response.json()["detail"]


TEXT_NOTS = MAX_FILTER_DEPTH // 2  # "NOT (" opens two levels
JSON_NOTS = (MAX_FILTER_DEPTH - 3) // 2  # an object and its args; the comparison takes 3


@pytest.mark.parametrize(
    ("params", "nots"),
    [
        ({"filter": _nots(TEXT_NOTS)}, TEXT_NOTS),
        ({"filter": _parentheses(MAX_FILTER_DEPTH)}, 0),
        ({"filter": _json_nots(JSON_NOTS), "filter-lang": "cql2-json"}, JSON_NOTS),
    ],
    ids=["NOT (", "parentheses", "cql2-json"],
)
def test_a_filter_at_the_limit_is_answered(
    lots_client: TestClient,  # noqa: F811
    params: dict[str, str],
    nots: int,
) -> None:
    """The deepest filters accepted select what they say: ``NOT`` taken ``nots`` times."""
    response = lots_client.get("/collections/lots/items", params={**params, "limit": "1000"})
    assert response.status_code == 200, response.text
    above = np.asarray(WGS.levels > 4)
    expected = above if nots % 2 == 0 else ~above
    assert sorted(f["id"] for f in response.json()["features"]) == [
        i + 1 for i in np.flatnonzero(expected)
    ]


@pytest.mark.parametrize("params", SLOW.values(), ids=SLOW.keys())
def test_a_filter_too_slow_to_parse_is_given_up_in_time(
    lots_client: TestClient,  # noqa: F811
    params: dict[str, str],
) -> None:
    started = time.monotonic()
    response = lots_client.get("/collections/lots/items", params=params)
    assert response.status_code == 400, response.text
    assert f"took more than {PARSE_TIMEOUT_S:g} s to parse" in response.json()["detail"]
    assert time.monotonic() - started < PARSE_TIMEOUT_S + 2
    assert lots_client.get("/collections/lots/items", params={"filter": "levels > 4"}).is_success


def _abort(text: str, language: str) -> Any:
    os.abort()  # as a stack overflow in cql2-rs ends a process


def test_a_parser_that_dies_takes_its_helper_not_the_process() -> None:
    async def parse_twice() -> None:
        dying = FilterParser(_abort)
        try:
            with pytest.raises(FilterError, match="the filter parser failed"):
                await dying.parse("levels > 4", "cql2-text")
        finally:
            dying.shutdown()
        working = FilterParser()
        try:
            parsed = await working.parse("levels > 4", "cql2-text")
        finally:
            working.shutdown()
        assert parsed == {"op": ">", "args": [{"property": "levels"}, 4.0]}

    asyncio.run(parse_twice())


_DIES_WITH_ITS_HELPER_RUNNING = """
import asyncio, os, psutil
from api.filter_parser import FilterParser

async def main():
    parser = FilterParser()
    await parser.parse("levels > 4", "cql2-text")
    print(" ".join(str(c.pid) for c in psutil.Process().children(recursive=True)), flush=True)
    asyncio.ensure_future(parser.parse("(" * 40 + "levels > 4 AND", "cql2-text"))
    await asyncio.sleep(0.3)  # the helper is busy with it
    os._exit(0)  # as a process killed: the helper is not stopped

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_busy_helper_does_not_outlive_its_process(tmp_path: Path) -> None:
    """A helper busy with a filter that would parse for days, its API process killed."""
    script = tmp_path / "dies.py"
    script.write_text(_DIES_WITH_ITS_HELPER_RUNNING)
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    helpers = [int(pid) for pid in ran.stdout.split()]
    assert helpers, "no helper was started: this test proves nothing"
    deadline = time.monotonic() + 2 * PARSE_TIMEOUT_S + 5
    while any(psutil.pid_exists(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in helpers if psutil.pid_exists(pid)]


KEY: dict[str, str] = {}
"""An admin's API key header for the served lots (made with the server)."""


@pytest.fixture(scope="module")
def lots_server(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Iterator[str]:
    """``smartcity serve`` over the lots, in its own process."""
    folder = Path(tmp_path_factory.mktemp("served-lots"))
    unlimited = {"SMARTCITY_RATE_LIMIT_HEAVY": "1000000/minute"}  # every request filters
    with (
        lots_database(pg_server, folder) as url,
        served(url, folder / "access.log", settings=unlimited) as base,
    ):
        KEY.update(key_headers(url))
        yield base


@pytest.mark.parametrize("params", [*DEEP.values(), *SLOW.values()], ids=[*DEEP, *SLOW])
def test_no_filter_takes_the_server_process_down(lots_server: str, params: dict[str, str]) -> None:
    with httpx.Client(base_url=lots_server, timeout=30, headers=KEY) as client:
        response = client.get("/collections/lots/items", params=params)
        assert response.status_code == 400, response.text
        # the same process answers the next request
        assert client.get("/collections/lots/items", params={"limit": "1"}).status_code == 200
