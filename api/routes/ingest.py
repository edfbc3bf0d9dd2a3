"""What ingestion refused: the dead-letter store, newest first."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from psycopg import AsyncConnection
from pydantic import BaseModel

from api.deps import connection
from api.params import UtcDateTime

router = APIRouter(tags=["ingest"])


class DeadLetterOut(BaseModel):
    """A refused message, or one refused record of it, with the reason."""

    id: int
    received_at: datetime
    topic: str
    reason: str
    record_index: int | None
    payload_base64: str
    payload_text: str | None


class DeadLetterPage(BaseModel):
    """A page of dead letters and the total matching the filters."""

    dead_letters: list[DeadLetterOut]
    number_matched: int


_WHERE = """
WHERE (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
  AND (%(topic)s::text IS NULL OR topic LIKE %(topic)s || '%%')
  AND (%(before)s::bigint IS NULL OR id < %(before)s)
"""


@router.get("/ingest/dead-letters", response_model=DeadLetterPage)
async def dead_letters(
    conn: Annotated[AsyncConnection, Depends(connection)],
    since: Annotated[UtcDateTime | None, Query(description="received at or after")] = None,
    topic: Annotated[
        str | None, Query(description="topic prefix, e.g. city/devices/gauge-1")
    ] = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="ids below this (paging)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeadLetterPage:
    """Dead letters with their raw payload (base64, and as text when it is UTF-8)."""
    params = {"since": since, "topic": topic, "before": before, "limit": limit}
    rows = await (
        await conn.execute(
            "SELECT id, received_at, topic, reason, record_index, payload FROM dead_letters"
            + _WHERE
            + "ORDER BY id DESC LIMIT %(limit)s",
            params,
        )
    ).fetchall()
    total = await (
        await conn.execute("SELECT count(*) FROM dead_letters" + _WHERE, params)
    ).fetchone()
    out = []
    for id_, received_at, topic_, reason, index, payload in rows:
        try:
            text: str | None = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            text = None
        out.append(
            DeadLetterOut(
                id=id_,
                received_at=received_at,
                topic=topic_,
                reason=reason,
                record_index=index,
                payload_base64=base64.b64encode(payload).decode(),
                payload_text=text,
            )
        )
    return DeadLetterPage(dead_letters=out, number_matched=total[0] if total else 0)
