"""CQL2 filters parsed in a helper process, within a time budget.

cql2-rs backtracks: a malformed filter nesting n groups keeps it busy for a time growing
as 2^n (:mod:`gis_layers.cql2_parse`), holding the GIL, so that on the API's event loop
one request of 40 bytes would stop every other request of the process for minutes; and a
parser crash would end the process. Here a helper process parses: past
:data:`PARSE_TIMEOUT_S` it is killed (pebble's pool starts another) and the filter
refused, and a crash takes the helper only. A helper also ends itself at twice the
budget: one busy in cql2-rs when its API process is killed would otherwise parse on, for
days. One helper a process: filters wait for it in turn, as heavy requests wait for the
CPU lane (``api/cpu.py``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Callable
from typing import Any

import pebble

from gis_layers import cql2_parse
from gis_layers.errors import FilterError

log = logging.getLogger(__name__)

PARSE_TIMEOUT_S = 1.0
"""The longest a filter may take to parse. A valid filter of the longest accepted
(:data:`~gis_layers.cql2_parse.MAX_FILTER_LENGTH`) parses in milliseconds; a malformed
one that runs longer is refused, at the cost of one helper's second and its restart."""


def _prepare_helper() -> None:
    """In the helper: SIGTERM's default action, which ends it at once. pebble's handler
    is Python, which never runs while cql2-rs is busy, and pebble waits 3 s for it before
    it sends SIGKILL."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _parse_in_helper(parse: Callable[[str, str], Any], text: str, language: str) -> Any:
    """In the helper: ``parse(text, language)``, ended by the kernel (SIGALRM's default
    action) past twice the budget. pebble's deadline comes first, unless the API process
    died meanwhile: an idle helper then ends with its pipe, a busy one would parse on."""
    signal.setitimer(signal.ITIMER_REAL, 2 * PARSE_TIMEOUT_S)
    try:
        return parse(text, language)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class FilterParser:
    """A process's filter parser, its helper started at the first filter."""

    def __init__(self, parse: Callable[[str, str], Any] = cql2_parse.parse) -> None:
        self._parse = parse
        self._pool: pebble.ProcessPool | None = None

    async def parse(self, text: str, language: str) -> Any:
        """``text`` in ``language`` as CQL2-JSON, or :class:`FilterError`: not valid,
        out of bounds, too slow to parse, or fatal to the parser."""
        if self._pool is None:
            spawn = multiprocessing.get_context("spawn")  # the API process runs threads
            self._pool = pebble.ProcessPool(1, context=spawn, initializer=_prepare_helper)
        future = self._pool.schedule(
            _parse_in_helper, args=(self._parse, text, language), timeout=PARSE_TIMEOUT_S
        )
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError:
            raise FilterError(
                f"filter took more than {PARSE_TIMEOUT_S:g} s to parse and was given up;"
                " nest fewer parentheses"
            ) from None
        except pebble.ProcessExpired as exc:
            log.error("the filter parser ended (%s) on %r", exc, text[:200])
            raise FilterError("the filter parser failed on this filter; simplify it") from None

    def shutdown(self) -> None:
        """Stop the helper, if it was started (a later filter starts another)."""
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None
