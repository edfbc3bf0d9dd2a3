"""Prometheus metrics of every ingestion worker, from one scrape target."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from psycopg import AsyncConnection

from api.deps import connection
from api.openapi import problems
from ingest_mqtt.metrics import ReportedWorkers
from storage import worker_reports

router = APIRouter(tags=["ingest"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"},
        **problems(503),
    },
)
async def metrics(conn: Annotated[AsyncConnection, Depends(connection)]) -> Response:
    """Received, stored, dead-lettered, spooled, batch sizes and commit latency per worker.

    Each worker reports every 5 s; ``smartcity_ingest_report_age_seconds`` says how old
    each worker's figures are.
    """
    registry = CollectorRegistry()
    registry.register(ReportedWorkers(await worker_reports.reports(conn), datetime.now(UTC)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
