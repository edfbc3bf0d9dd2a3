"""What ingestion refused: the dead-letter store, newest first, in pages bounded in size."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from psycopg import AsyncConnection
from pydantic import BaseModel

from api.deps import connection
from api.openapi import problems
from api.params import UtcDateTime
from ingest_mqtt.validation import MAX_PAYLOAD_BYTES
from storage import dead_letters as letters

router = APIRouter(tags=["ingest"], responses=problems(503))  # each reads the database


class DeadLetterOut(BaseModel):
    """A refused message, or one refused record of it, with the reason; ``count`` times
    the same (payload, topic, reason, record) between ``first_seen`` and ``last_seen``."""

    id: int
    first_seen: datetime
    last_seen: datetime
    count: int
    topic: str
    reason: str
    record_index: int | None
    payload_bytes: int
    """The payload's size as received."""
    truncated: bool
    """Whether only its first 256 KiB were kept (payloads that large are refused)."""
    payload_base64: str
    payload_text: str | None


class DeadLetterPage(BaseModel):
    """A page of dead letters, the number matching the filters (below ``before``), and
    the address of the next page, if there is one."""

    dead_letters: list[DeadLetterOut]
    number_matched: int
    next: str | None


def _out(letter: letters.StoredDeadLetter) -> DeadLetterOut:
    try:
        text: str | None = letter.payload.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return DeadLetterOut(
        id=letter.id,
        first_seen=letter.first_seen,
        last_seen=letter.last_seen,
        count=letter.count,
        topic=letter.topic,
        reason=letter.reason,
        record_index=letter.record_index,
        payload_bytes=letter.payload_bytes,
        truncated=letter.truncated,
        payload_base64=base64.b64encode(letter.payload).decode(),
        payload_text=text,
    )


@router.get("/ingest/dead-letters", response_model=DeadLetterPage)
async def dead_letters(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    since: Annotated[UtcDateTime | None, Query(description="last seen at or after")] = None,
    topic: Annotated[
        str | None, Query(description="topic prefix, e.g. city/devices/gauge-1")
    ] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=2**63 - 1, description="ids below this (paging: see next)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    max_bytes: Annotated[
        int,
        Query(
            ge=MAX_PAYLOAD_BYTES,
            le=64 * 2**20,
            description="most payload bytes in a page (at least one letter's largest)",
        ),
    ] = 2**20,
) -> DeadLetterPage:
    """Dead letters with their payload (base64, and as text when it is UTF-8), newest
    first: at most ``limit`` of them, holding at most ``max_bytes`` of payload."""
    page, matched = await letters.page(conn, since, topic, before, limit, max_bytes)
    following = None
    if page and len(page) < matched:
        following = str(request.url.include_query_params(before=page[-1].id))
    return DeadLetterPage(
        dead_letters=[_out(letter) for letter in page], number_matched=matched, next=following
    )
