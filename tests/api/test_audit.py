"""The audit trail through the real API on a real database: every write recorded with
who, route, target, outcome, summary and peer, refused sign-ins once, nothing for reads;
``GET /audit`` filtering and paging newest first; several API processes appending to
one chain."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from psycopg import AsyncConnection

from api import audit_trail
from api.app import create_app
from audit import store
from audit.chain import Entry
from auth import policy
from auth.principal import Principal, Role
from harness.credentials import key_headers
from harness.live import served
from settings import Settings
from storage import migrations
from tests.river_alerts import raise_alert

ACK = "/river/alerts/{alert_id}/ack"
JSON = {"Content-Type": "application/json"}


def _rows(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        return cur.execute("SELECT * FROM audit_log ORDER BY audit_id").fetchall()


def _sign_in_as(principal: Principal):  # type: ignore[no-untyped-def]
    """A dependency doing what sign-in does for a route: set the request's principal."""

    def dependency(request: Request) -> None:
        request.state.principal = principal

    return dependency


@pytest.fixture
def migrated(pg_url: str) -> str:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    return pg_url


@pytest.fixture
def client(migrated: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The hub with three routes of the tests' own, signed in as emergency staff."""
    for method, path in (("PUT", "/things/{thing_id}"), ("DELETE", "/broken/{thing_id}"),
                         ("POST", "/token")):  # fmt: skip
        monkeypatch.setitem(policy.POLICY, (method, path), policy.PUBLIC)
    app = create_app(Settings(), migrated)
    ana = Principal.of("ana", ["viewer", "emergency", "offline_access"], "token", "hub-web")

    async def thing(thing_id: str, request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    async def broken(thing_id: str) -> None:
        raise RuntimeError("a bug")

    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        await audit_trail.refused_sign_in(request, str(form["username"]), "wrong password")
        return JSONResponse({"detail": "refused"}, status_code=401)

    app.add_api_route(
        "/things/{thing_id}",
        thing,
        methods=["PUT"],
        dependencies=[Depends(_sign_in_as(ana))],
    )
    app.add_api_route("/broken/{thing_id}", broken, methods=["DELETE"])
    app.add_api_route("/token", token, methods=["POST"])
    duty = key_headers(migrated, Role.EMERGENCY)
    with TestClient(app, raise_server_exceptions=False, headers=duty) as test_client:
        yield test_client


def test_each_write_is_recorded_with_route_target_outcome_and_field_names(
    migrated: str, client: TestClient
) -> None:
    alert_id = raise_alert(migrated)
    note = "sandbags to the port, call Ion on 0722 000 000"
    assert client.post(f"/river/alerts/{alert_id}/ack", json={"note": note}).is_success
    assert client.post(f"/river/alerts/{alert_id}/ack", json={}).status_code == 409
    assert client.post(f"/river/alerts/{alert_id}/ack", json={"by": "ISU"}).status_code == 400
    assert client.post("/river/alerts/999999/ack", json={}).status_code == 404
    assert client.post("/river/alerts/1/ack", content=b"{not json", headers=JSON).status_code == 400
    # reads and requests no route answers are not writes of the hub's
    assert client.get(f"/river/alerts/{alert_id}").is_success
    assert client.post("/nowhere", json={"a": 1}).status_code == 404

    rows = _rows(migrated)
    assert [
        (r["http_method"], r["route"], r["target"], r["outcome"], r["summary"]) for r in rows
    ] == [
        ("POST", ACK, {"alert_id": str(alert_id)}, 200, "fields: note"),
        ("POST", ACK, {"alert_id": str(alert_id)}, 409, "no fields"),
        ("POST", ACK, {"alert_id": str(alert_id)}, 400, "fields: by"),
        ("POST", ACK, {"alert_id": "999999"}, 404, "no fields"),
        ("POST", ACK, {"alert_id": "1"}, 400, "malformed JSON of 9 bytes"),
    ]
    # the signed-in key's holder; a body that is not JSON is refused by FastAPI before the
    # access check runs, so that one names nobody
    signed = ("write", "tests-emergency", ["emergency"], "api-key")
    who = [(r["action"], r["subject"], r["roles"], r["auth_method"]) for r in rows]
    assert who == [signed] * 4 + [("write", None, [], None)]
    for row in rows:
        assert row["remote_addr"] == "testclient"
    assert note not in json.dumps(rows, default=str)  # names of fields, never their values
    with psycopg.connect(migrated) as conn:
        assert store.verify(conn).broken is None


def test_the_signed_in_caller_is_recorded(migrated: str, client: TestClient) -> None:
    answer = client.put("/things/lamp-7", data={"state": "on", "level": "3"})
    assert answer.json() == {"received": len("state=on&level=3")}
    (row,) = _rows(migrated)
    assert (row["subject"], row["roles"], row["auth_method"], row["client"]) == (
        "ana",
        ["emergency", "viewer"],
        "token",
        "hub-web",
    )
    assert (row["route"], row["target"], row["summary"]) == (
        "/things/{thing_id}",
        {"thing_id": "lamp-7"},
        "fields: level, state",
    )


def test_a_large_body_reaches_the_route_whole_and_is_named_by_its_size(
    migrated: str, client: TestClient
) -> None:
    body = json.dumps({"values": list(range(30_000))}).encode()
    assert len(body) > audit_trail.SUMMARY_BODY_BYTES
    answer = client.put("/things/lamp-7", content=body, headers=JSON)
    assert answer.json() == {"received": len(body)}
    (row,) = _rows(migrated)
    assert row["summary"] == "application/json of more than 65536 bytes"


def test_a_write_that_fails_is_recorded_with_500(migrated: str, client: TestClient) -> None:
    assert client.delete("/broken/x").status_code == 500
    (row,) = _rows(migrated)
    assert (row["route"], row["outcome"], row["summary"]) == ("/broken/{thing_id}", 500, "")


def test_a_refused_sign_in_is_recorded_once(migrated: str, client: TestClient) -> None:
    answer = client.post("/token", data={"username": "mallory\x00", "password": "hunter2"})
    assert answer.status_code == 401
    (row,) = _rows(migrated)
    assert (row["action"], row["subject"], row["summary"], row["outcome"], row["route"]) == (
        "sign-in-refused",
        "mallory\ufffd",
        "wrong password",
        401,
        "/token",
    )
    assert row["remote_addr"] == "testclient"
    assert "hunter2" not in json.dumps(row, default=str)


def test_refused_credentials_of_ordinary_requests_are_recorded_once_per_credential(
    migrated: str, client: TestClient
) -> None:
    unknown_key = "sck_AAAAAAAAAAAA_" + "x" * 43
    forged = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"
    for _ in range(3):  # a script retrying: one row per credential and address
        assert client.get("/devices", headers={"X-API-Key": unknown_key}).status_code == 401
    assert client.get("/devices", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.get("/devices", headers={"Authorization": "Basic YTpi"}).status_code == 401
    alert = "/river/alerts/1/ack"
    assert client.post(alert, json={}, headers={"X-API-Key": "sck_short"}).status_code == 401
    rows = _rows(migrated)
    fields = ("action", "http_method", "route", "subject", "outcome")
    assert [tuple(r[f] for f in fields) for r in rows] == [
        ("sign-in-refused", "GET", "/devices", "AAAAAAAAAAAA", 401),
        ("sign-in-refused", "GET", "/devices", None, 401),
        ("sign-in-refused", "GET", "/devices", None, 401),
        ("sign-in-refused", "POST", ACK, None, 401),  # and not again as a write
    ]
    assert rows[0]["summary"] == "unknown or revoked API key"
    assert rows[1]["summary"].startswith("the access token is not valid")
    assert forged not in json.dumps(rows, default=str)  # credentials are never stored


def _entries(count: int) -> list[Entry]:
    subjects, routes, outcomes = ["ana", "ion", None], [ACK, "/devices/{device_id}"], [200, 403]
    return [
        Entry(
            action="write" if i % 5 else "sign-in-refused",
            http_method="POST",
            route=routes[i % 2],
            outcome=outcomes[i % 2 if i % 3 else 0],
            subject=subjects[i % 3],
            target={"alert_id": str(i)},
        )
        for i in range(count)
    ]


def test_the_audit_route_filters_and_pages_newest_first(migrated: str, client: TestClient) -> None:
    async def append() -> None:
        async with await AsyncConnection.connect(migrated, autocommit=True) as conn:
            for entry in _entries(23):
                await store.record(conn, entry)

    asyncio.run(append())
    admin = key_headers(migrated, Role.ADMIN)
    rows = _rows(migrated)
    middle = rows[10]["at"]

    def pages(**params: Any) -> list[int]:
        ids: list[int] = []
        before = None
        while True:
            query = {**params, "limit": 4} | ({"before": before} if before else {})
            answer = client.get("/audit", params=query, headers=admin)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            ids += [e["id"] for e in page["entries"]]
            before = page["next_before"]
            if before is None:
                return ids

    def expected(keep: Any) -> list[int]:
        return [r["audit_id"] for r in reversed(rows) if keep(r)]

    assert client.get("/audit").status_code == 403  # emergency staff do not read it
    assert pages() == expected(lambda r: True)
    assert pages(subject="ana") == expected(lambda r: r["subject"] == "ana")
    assert pages(route=ACK) == expected(lambda r: r["route"] == ACK)
    assert pages(outcome=403) == expected(lambda r: r["outcome"] == 403)
    assert pages(action="sign-in-refused") == expected(lambda r: r["action"] == "sign-in-refused")
    assert pages(start=middle.isoformat()) == expected(lambda r: r["at"] >= middle)
    assert pages(end=middle.isoformat(), subject="ion") == expected(
        lambda r: r["at"] < middle and r["subject"] == "ion"
    )
    first = client.get("/audit", params={"limit": 1}, headers=admin).json()["entries"][0]
    assert first["id"] == rows[-1]["audit_id"] and first["hash"] == rows[-1]["hash"]
    assert first["target"] == rows[-1]["target"]
    wrong = client.get(
        "/audit", params={"start": middle.isoformat(), "end": middle.isoformat()}, headers=admin
    )
    assert wrong.status_code == 400
    assert wrong.headers["content-type"] == "application/problem+json"
    assert client.get("/audit", params={"outcome": 42}, headers=admin).status_code == 400
    assert not any(r["route"] == "/audit" for r in _rows(migrated))  # reads are not recorded


def test_api_processes_append_to_one_chain_and_record_the_peer(migrated: str) -> None:
    alert_id = raise_alert(migrated)
    duty = key_headers(migrated, Role.EMERGENCY)
    requests = 40
    with served(migrated, workers=2) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None

        def ack(i: int) -> int:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            body = json.dumps({"note": f"dispecer {i}"})
            headers = {"Content-Type": "application/json", **duty}
            connection.request("POST", f"/river/alerts/{alert_id}/ack", body, headers)
            status = connection.getresponse().status
            connection.close()
            return status

        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(ack, range(requests)))
        assert statuses == [200] + [409] * (requests - 1)
        deadline = time.monotonic() + 10
        while len(_rows(migrated)) < requests:  # recorded once answered
            assert time.monotonic() < deadline, "the audit rows did not all arrive"
            time.sleep(0.1)
    rows = _rows(migrated)
    assert sorted(r["outcome"] for r in rows) == statuses
    assert {r["remote_addr"] for r in rows} == {"127.0.0.1"}
    with psycopg.connect(migrated) as conn:
        verdict = store.verify(conn)
    assert (verdict.rows, verdict.broken) == (requests, None)
