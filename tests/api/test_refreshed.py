"""A default answer reused while fresh, remade in the background once stale."""

from __future__ import annotations

import asyncio

import pytest

from api.refreshed import Refreshed

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The API's event loop: asyncio."""
    return "asyncio"


class Maker:
    """Makes answers b"1", b"2", ... each after ``delay_s``; fails when told to."""

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.calls = 0
        self.fail = False

    async def __call__(self) -> bytes:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("database down")
        return str(self.calls).encode()


async def test_the_first_requests_share_one_computation() -> None:
    make, recent = Maker(), Refreshed(60)
    answers = await asyncio.gather(*(recent.get(make) for _ in range(5)))
    assert answers == [b"1"] * 5
    assert make.calls == 1
    assert await recent.get(make) == b"1" and make.calls == 1  # fresh: reused


async def test_a_stale_answer_is_served_at_once_while_the_next_is_made() -> None:
    make, recent = Maker(delay_s=0.2), Refreshed(0.05)
    assert await recent.get(make) == b"1"
    await asyncio.sleep(0.1)
    started = asyncio.get_running_loop().time()
    assert await recent.get(make) == b"1"  # stale, not waited for
    assert asyncio.get_running_loop().time() - started < 0.1
    assert await recent.get(make) == b"1"
    await asyncio.sleep(0.01)
    assert make.calls == 2  # one refresh under way, not one per request
    await asyncio.sleep(0.3)
    assert await recent.get(make) == b"2"


async def test_a_failed_refresh_keeps_the_previous_answer(caplog: pytest.LogCaptureFixture) -> None:
    make, recent = Maker(delay_s=0.01), Refreshed(0.01)
    assert await recent.get(make) == b"1"
    make.fail = True
    await asyncio.sleep(0.02)
    assert await recent.get(make) == b"1"
    await asyncio.sleep(0.05)
    assert await recent.get(make) == b"1"
    assert "refreshing an answer failed" in caplog.text
    make.fail = False
    await asyncio.sleep(0.05)
    await recent.get(make)
    await asyncio.sleep(0.05)
    assert await recent.get(make) not in (b"1", None)


async def test_a_failed_first_answer_reaches_its_callers_and_is_tried_again() -> None:
    make, recent = Maker(delay_s=0.01), Refreshed(60)
    make.fail = True
    with pytest.raises(RuntimeError, match="database down"):
        await recent.get(make)
    make.fail = False
    assert await recent.get(make) == b"2"


async def test_a_cancelled_waiter_leaves_the_computation_to_the_others() -> None:
    make, recent = Maker(delay_s=0.1), Refreshed(60)
    first = asyncio.create_task(recent.get(make))
    second = asyncio.create_task(recent.get(make))
    await asyncio.sleep(0.02)
    first.cancel()
    assert await second == b"1"
    assert make.calls == 1
