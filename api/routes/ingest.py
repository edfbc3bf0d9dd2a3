"""What ingestion refused: the dead-letter store, newest first."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from psycopg import AsyncConnection
from pydantic import BaseModel

from api.deps import connection
from api.openapi import problems
from api.params import UtcDateTime
from storage import readings

router = APIRouter(tags=["ingest"], responses=problems(503))  # each reads the database


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
    page, total = await readings.dead_letter_page(conn, since, topic, before, limit)
    out = []
    for letter in page:
        try:
            text: str | None = letter.payload.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        out.append(
            DeadLetterOut(
                id=letter.id,
                received_at=letter.received_at,
                topic=letter.topic,
                reason=letter.reason,
                record_index=letter.record_index,
                payload_base64=base64.b64encode(letter.payload).decode(),
                payload_text=text,
            )
        )
    return DeadLetterPage(dead_letters=out, number_matched=total)
