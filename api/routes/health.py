"""Liveness and readiness: the API answers and the database answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from psycopg import AsyncConnection
from pydantic import BaseModel

from api.deps import connection
from api.openapi import problems
from storage import migrations

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Health of the API and its database."""

    status: str
    database: str
    readings_storage: str
    schema_version: int


@router.get("/health", response_model=Health, responses=problems(503))
async def health(conn: Annotated[AsyncConnection, Depends(connection)]) -> Health:
    """Ready when the database answers and is migrated."""
    storage, version = await migrations.schema_state(conn)
    return Health(status="ok", database="ok", readings_storage=storage, schema_version=version)
