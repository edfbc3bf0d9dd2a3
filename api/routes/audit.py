"""The audit log, newest first: who wrote what, when and from where, and refused sign-ins.

The rows are those of :mod:`audit`; the policy gives this route to administrators.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.deps import connection
from api.errors import InvalidParameter
from api.params import UtcDateTime
from audit import store
from audit.chain import Action, Row

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    """One row of the audit log."""

    id: int
    at: datetime
    action: Action = Field(description="`write`, or `sign-in-refused`")
    subject: str | None = Field(description="who: the signed-in subject, or the one tried")
    roles: list[str]
    auth_method: str | None = Field(description="how they signed in: token, api-key, ...")
    client: str | None = Field(description="the OAuth client or API key id")
    remote_addr: str | None = Field(description="the address the request came from")
    http_method: str
    route: str = Field(description="the route's template, e.g. /river/alerts/{alert_id}/ack")
    target: dict[str, str] = Field(description="the route's path parameters")
    outcome: int = Field(description="the HTTP status answered")
    summary: str = Field(description="the names of the body's fields, or the reason refused")
    hash: str = Field(description="the row's link in the hash chain (SHA-256, hex)")


class AuditPage(BaseModel):
    """A page of the audit log."""

    entries: list[AuditEntryOut]
    next_before: int | None = Field(
        description="`before` for the next page (older rows); null on the last page"
    )


def _out(row: Row) -> AuditEntryOut:
    entry = row.entry
    return AuditEntryOut(
        id=row.audit_id,
        at=row.at,
        action=entry.action,
        subject=entry.subject,
        roles=list(entry.roles),
        auth_method=entry.auth_method,
        client=entry.client,
        remote_addr=entry.remote_addr,
        http_method=entry.http_method,
        route=entry.route,
        target=entry.target,
        outcome=entry.outcome,
        summary=entry.summary,
        hash=row.hash,
    )


@router.get("/audit", response_model=AuditPage)
async def audit_log(
    conn: Annotated[AsyncConnection, Depends(connection)],
    subject: Annotated[str | None, Query(max_length=200, description="who")] = None,
    route: Annotated[
        str | None, Query(max_length=300, description="a route template, as listed")
    ] = None,
    outcome: Annotated[int | None, Query(ge=100, le=599, description="HTTP status")] = None,
    action: Annotated[Action | None, Query(description="write or sign-in-refused")] = None,
    start: Annotated[UtcDateTime | None, Query(description="at or after")] = None,
    end: Annotated[UtcDateTime | None, Query(description="before")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="ids below this (paging)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Writes and refused sign-ins, newest first, filtered by who, route, outcome and time."""
    if start is not None and end is not None and start >= end:
        raise InvalidParameter(f"start {start.isoformat()} must be before end {end.isoformat()}")
    filters = store.Filters(subject, route, outcome, action, start, end)
    rows, next_before = await store.page(conn, filters, before, limit)
    return AuditPage(entries=[_out(r) for r in rows], next_before=next_before)
