"""Errors carry their status: one handler per family maps each to RFC 9457 problem+json."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from gis_layers.errors import FilterError, LayerNotFound
from storage.credentials import InvalidMqttName, UnknownDevice
from storage.errors import MigrationError


def _raising(exc: Exception) -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("exc", "status", "title"),
    [
        (UnknownDevice("no device 'x'"), 404, "Unknown device"),
        (InvalidMqttName("'a/b' cannot be an MQTT user name"), 422, "Invalid MQTT user name"),
        (LayerNotFound("no collection 'x'"), 404, "Collection not found"),
        (FilterError("bad filter"), 400, "Invalid filter"),
        (errors.NotFound("nothing here"), 404, "Not found"),
        (errors.Unavailable("the live twin cannot reach the database"), 503, "Service unavailable"),
    ],
)
def test_an_error_answers_with_its_own_status_and_message(
    exc: Exception, status: int, title: str
) -> None:
    answer = _raising(exc).get("/boom")
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": str(exc),
        "instance": "/boom",
    }


def test_a_storage_failure_keeps_its_internals_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    secret = "migration failed: relation pg_secret_table does not exist"
    answer = _raising(MigrationError(secret)).get("/boom")
    assert answer.status_code == 503
    assert answer.json()["title"] == "Database migration failed"
    assert "pg_secret_table" not in answer.text
    assert "pg_secret_table" in caplog.text


def test_an_unexpected_error_is_a_500_without_its_message() -> None:
    answer = _raising(RuntimeError("internal detail")).get("/boom")
    assert answer.status_code == 500
    assert "internal detail" not in answer.text


@pytest.mark.parametrize("url", ["/boom%00", "/boom?x=a%00b", "/boom?x%00=1"])
def test_nul_in_the_path_or_the_query_is_refused_before_any_route(url: str) -> None:
    answer = _raising(AssertionError("the route must not run")).get(url)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "NUL characters are not accepted"


def test_a_percent_sign_that_is_not_nul_passes() -> None:
    answer = _raising(errors.NotFound("reached")).get("/boom?x=%2500")
    assert answer.json()["detail"] == "reached"


def test_a_method_not_allowed_names_the_allowed_ones() -> None:
    """RFC 9110: a 405 carries ``Allow``; the problem body does not replace it."""
    answer = _raising(AssertionError("the route must not run")).delete("/boom")
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["allow"] == "GET"
