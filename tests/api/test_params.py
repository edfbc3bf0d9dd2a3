"""Query parameter types shared by the routes, on a small app with the API's handlers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from api import errors
from api.params import UtcDateTime, four_numbers


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/when")
    async def when(at: Annotated[UtcDateTime, Query()]) -> dict[str, str]:
        return {"at": at.isoformat()}

    @app.get("/box")
    async def box(bbox: str) -> dict[str, list[float]]:
        return {"bbox": list(four_numbers(bbox))}

    return TestClient(app)


@pytest.mark.parametrize("at", ["12345", "1e5", "-3", "2026", " 17.5 "])
def test_a_bare_number_is_not_a_moment(client: TestClient, at: str) -> None:
    """pydantic reads a number as Unix time: ``at=12345`` would be 1970-01-01T03:25:45Z."""
    response = client.get("/when", params={"at": at})
    assert response.status_code == 400, response.text
    assert "not an RFC 3339 date-time" in response.json()["detail"]


@pytest.mark.parametrize(
    ("at", "utc"),
    [
        ("2026-11-23T12:00:00Z", "2026-11-23T12:00:00+00:00"),
        ("2026-11-23T14:00:00+02:00", "2026-11-23T12:00:00+00:00"),
    ],
)
def test_an_rfc_3339_moment_is_taken_in_utc(client: TestClient, at: str, utc: str) -> None:
    response = client.get("/when", params={"at": at})
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["at"]).isoformat() == utc


@pytest.mark.parametrize(
    ("bbox", "says"),
    [
        ("nan,0,1,1", "finite"),
        ("0,0,inf,1", "finite"),
        ("-inf,-inf,inf,inf", "finite"),
        ("0,0,1", "4 numbers"),
        ("a,b,c,d", "four numbers"),
    ],
)
def test_a_bbox_is_four_finite_numbers(client: TestClient, bbox: str, says: str) -> None:
    response = client.get("/box", params={"bbox": bbox})
    assert response.status_code == 400, response.text
    assert says in response.json()["detail"]
