"""A domain's alerts as a service: the monitor that judges a domain's subjects each tick
and hands what changed to the engine, and :func:`serve`, which runs it together with the
engine's dispatcher (MQTT, webhooks; the API's server-sent events follow the engine's
notifications).

A domain writes only what is its own, as :class:`Conditions`: its subjects' names, how
it judges them at a moment, and, if it keeps a memory of its own (parking's waits), how
it takes up the alerts left open when the service stopped. The machinery is here, the
same for every domain:

- each tick the domain judges its subjects, and the conditions it hands over are applied
  in one transaction (:func:`alerts.store.apply`); only once they are committed is the
  domain told (:attr:`Judged.committed`), so that its memory never runs ahead of the
  engine's;
- a domain without a memory of its own (``changes_only``) hands over every condition it
  can judge, and the monitor applies those whose severity differs from the open alert's
  (:func:`alerts.store.open_severities`, read in the same transaction): a restart repeats
  nothing;
- then the engine's reminder and escalation timers run (:func:`alerts.store.run_timers`);
- the database going away is survived: the monitor reconnects, takes the open alerts up
  again and goes on (:func:`storage.database.reconnecting`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from psycopg import AsyncConnection

from alerts import store
from alerts.delivery import Backoff, Dispatcher
from alerts.model import AlertSource, Condition
from ingest_mqtt.publisher import Publisher
from storage.database import reconnecting

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The monitor's default clock."""
    return datetime.now(UTC)


def _nothing() -> None:
    pass


@dataclass(frozen=True)
class Judged:
    """What a domain found at one moment: its subjects' names by id (the events name
    them), the conditions to hand the engine, and what to do once they are committed."""

    names: Mapping[str, str]
    conditions: Sequence[Condition]
    committed: Callable[[], None] = _nothing


class Conditions(Protocol):
    """What a domain brings to the monitor."""

    subjects: str
    """What its subjects are called, in the plural (``"lots"``), for the log."""
    changes_only: bool
    """False: the domain hands over changes only (it remembers what it told the engine);
    True: every condition it can judge, the monitor applies those that change an alert."""

    def source(self, names: Mapping[str, str]) -> AlertSource:
        """The domain as the engine's client (its escalation and webhooks), with the
        subjects ``names`` (by id)."""
        ...

    async def names(self, conn: AsyncConnection) -> Mapping[str, str]:
        """Every subject's name, by id."""
        ...

    async def resume(self, conn: AsyncConnection, source: AlertSource) -> None:
        """Take up the alerts ``source`` holds open, as the service starts."""
        ...

    async def judge(self, conn: AsyncConnection, now: datetime) -> Judged:
        """The subjects and their conditions at ``now``."""
        ...


class AlertMonitor:
    """Judges a domain's subjects each ``tick_s`` and feeds the alert engine; runs until
    stopped."""

    def __init__(
        self,
        database_url: str,
        conditions: Conditions,
        *,
        tick_s: float = 60.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.database_url = database_url
        self.conditions = conditions
        self.tick_s = tick_s
        self._clock = clock

    @property
    def name(self) -> str:
        """How the log names it: ``parking alert monitor``."""
        return f"{self.conditions.source({}).domain} alert monitor"

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate each tick until ``stop`` is set; reconnect (taking the open alerts up
        again) if the database goes away."""
        await reconnecting(lambda: self._serve(stop), stop, self.name)

    async def _serve(self, stop: asyncio.Event) -> None:
        async with await AsyncConnection.connect(self.database_url, autocommit=True) as conn:
            await self.resume(conn)
            log.info(
                "%s judging the %s every %g s", self.name, self.conditions.subjects, self.tick_s
            )
            while not stop.is_set():
                await self.evaluate(conn)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.tick_s)

    async def resume(self, conn: AsyncConnection) -> None:
        """Let the domain take up the open alerts stored."""
        source = self.conditions.source(await self.conditions.names(conn))
        await self.conditions.resume(conn, source)

    async def evaluate(self, conn: AsyncConnection) -> list[int]:
        """Judge every subject now, apply the changes in one transaction, run the
        engine's reminder and escalation timers; the events' ids."""
        now = self._clock()
        judged = await self.conditions.judge(conn, now)
        source = self.conditions.source(judged.names)
        events: list[int] = []
        async with conn.transaction():
            open_now: dict[str, dict[str, int]] = {}
            for condition in judged.conditions:
                if self.conditions.changes_only:
                    subject = condition.subject_id
                    if subject not in open_now:
                        open_now[subject] = await store.open_severities(conn, source, subject)
                    if condition.severity == open_now[subject].get(condition.kind, 0):
                        continue
                events += await store.apply(conn, source, condition, now)
        judged.committed()  # only once the changes are committed
        events += await store.run_timers(conn, source, now)
        return events


async def serve(
    monitor: AlertMonitor,
    publisher: Publisher,
    topic_prefix: str,
    retry_max_s: float,
    stop: asyncio.Event,
) -> None:
    """Run ``monitor`` and the engine's dispatcher of its domain's events (on MQTT under
    ``topic_prefix`` and to the domain's webhooks, retried at most ``retry_max_s`` apart)
    until ``stop`` is set."""
    # the dispatcher's subjects: documents are written when events are, so it only
    # needs the domain's name, channel and webhooks
    dispatcher = Dispatcher(
        monitor.database_url,
        monitor.conditions.source({}),
        publisher,
        topic_prefix,
        backoff=Backoff(max_s=retry_max_s),
    )
    await asyncio.gather(monitor.run(stop), dispatcher.run(stop))
