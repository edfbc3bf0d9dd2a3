"""Signing in with the embedded default: local accounts (password grant, login page and
session cookie) and API keys, against a real database; refusals of what is not valid."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from auth import accounts, authenticator, directory
from auth.principal import Role
from harness.credentials import account, api_key
from settings import Settings
from storage import migrations
from tests.oidc_provider import HUB as OIDC_AUDIENCE
from tests.oidc_provider import OTHER_API, OidcTestProvider

pytestmark = pytest.mark.integration


@pytest.fixture
def hub(pg_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    app = create_app(Settings(data_dir=tmp_path), pg_url)
    with TestClient(app) as client:
        yield client, pg_url


def _token(client: TestClient, name: str, password: str) -> dict[str, object]:
    answer = client.post("/auth/token", data={"username": name, "password": password})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return answer.json()


def test_a_password_grant_gives_a_bearer_token_for_the_account(hub: tuple[TestClient, str]) -> None:
    client, url = hub
    name, password = account(url, Role.EMERGENCY)
    issued = _token(client, name, password)
    assert issued["token_type"] == "bearer" and issued["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    me = client.get("/auth/me", headers=headers).json()
    assert me == {
        "subject": name,
        "roles": ["emergency"],
        "method": "token",
        "client": "smartcity-hub",
    }
    claims = jwt.decode(str(issued["access_token"]), options={"verify_signature": False})
    assert jwt.get_unverified_header(str(issued["access_token"]))["typ"] == "at+jwt"
    assert claims["sub"] == name and claims["aud"] == "smartcity-hub"


@pytest.mark.parametrize(
    "form",
    [
        {"username": "nobody", "password": "a long enough password"},
        {"username": "{name}", "password": "wrong password, long"},
    ],
)
def test_a_wrong_name_or_password_is_an_oauth_invalid_grant(
    hub: tuple[TestClient, str], form: dict[str, str]
) -> None:
    client, url = hub
    name, _ = account(url, Role.VIEWER)
    answer = client.post("/auth/token", data={k: v.format(name=name) for k, v in form.items()})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_requests_without_credentials_get_a_challenge(hub: tuple[TestClient, str]) -> None:
    client, _ = hub
    answer = client.get("/devices")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Bearer sck_aaaaaaaaaaaa_" + "A" * 43,
        "Bearer",
    ],
)
def test_bad_credentials_are_refused_not_ignored(hub: tuple[TestClient, str], header: str) -> None:
    client, _ = hub
    answer = client.get("/river/gauges", headers={"Authorization": header})  # a public route
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_forged_and_expired_tokens_are_refused(hub: tuple[TestClient, str]) -> None:
    client, url = hub
    name, password = account(url, Role.ADMIN)
    good = str(_token(client, name, password)["access_token"])
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = [
        jwt.encode({**claims, "sub": name}, "secret", algorithm="HS256"),
        jwt.encode(claims, None, algorithm="none"),
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
    ]
    app = client.app
    issuer = app.state.authenticator.tokens  # type: ignore[attr-defined]
    forged.append(issuer.issue(name, "admin", now=datetime.now(UTC) - timedelta(hours=2)))
    for token in forged:
        answer = client.get("/devices", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, token


def test_a_disabled_account_and_a_revoked_key_stop_working(
    hub: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory, "FRESH_S", 0.0)
    client, url = hub
    name, password = account(url, Role.PLANNER)
    bearer = {"Authorization": f"Bearer {_token(client, name, password)['access_token']}"}
    key = api_key(url, Role.VIEWER)
    assert client.get("/devices", headers=bearer).status_code == 200
    assert client.get("/devices", headers={"X-API-Key": key}).status_code == 200
    with psycopg.connect(url) as conn:
        accounts.set_disabled(conn, name)
        accounts.revoke_key(conn, accounts.KEY.fullmatch(key)[1])  # type: ignore[index]
    assert client.get("/devices", headers=bearer).status_code == 401
    assert client.get("/devices", headers={"X-API-Key": key}).status_code == 401
    assert client.get("/devices", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_many_scripts_starting_at_once_hash_their_keys_a_few_at_a_time_and_once(
    hub: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 scripts starting together had 40 Argon2id hashes (64 MiB each) running at once
    and stalled every request: they queue instead, and a key is hashed once."""
    client, url = hub
    keys = [api_key(url, Role.VIEWER, name=f"script{i}") for i in range(12)]
    running, most, hashed = 0, 0, Counter[str]()
    lock = threading.Lock()
    real = authenticator.verify_secret

    def counted(hashed_secret: str, secret: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            hashed[secret] += 1
        try:
            time.sleep(0.02)  # a slower machine: the verifications overlap
            return real(hashed_secret, secret)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(authenticator, "verify_secret", counted)

    def ask(key: str) -> int:
        return client.get("/devices", headers={"X-API-Key": key}).status_code

    with ThreadPoolExecutor(24) as pool:
        assert set(pool.map(ask, keys * 2)) == {200}  # each key twice, all at once
        assert set(pool.map(ask, keys)) == {200}
    assert most == authenticator.HASHING_AT_ONCE
    assert sorted(hashed.values()) == [1] * len(keys)


def test_a_new_role_applies_to_tokens_already_issued(
    hub: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory, "FRESH_S", 0.0)
    client, url = hub
    name, password = account(url, Role.VIEWER)
    bearer = {"Authorization": f"Bearer {_token(client, name, password)['access_token']}"}
    assert client.post("/river/alerts/1/ack", json={}, headers=bearer).status_code == 403
    with psycopg.connect(url) as conn:
        accounts.set_role(conn, name, Role.EMERGENCY)
    assert client.post("/river/alerts/1/ack", json={}, headers=bearer).status_code == 404


def test_the_login_page_opens_a_session_for_the_map(hub: tuple[TestClient, str]) -> None:
    client, url = hub
    page = client.get("/map", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/auth/login?next=%2Fmap"
    assert 'name="password"' in client.get("/auth/login?next=/map").text
    name, password = account(url, Role.VIEWER)
    wrong = client.post("/auth/login", data={"username": name, "password": "x" * 12})
    assert wrong.status_code == 401 and "wrong password" in wrong.text
    signed = client.post(
        "/auth/login",
        data={"username": name, "password": password, "next": "/map"},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/map"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/map", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/auth/me").json()["method"] == "session"


def test_a_successful_sign_in_is_audited_under_the_account_it_opened(
    hub: tuple[TestClient, str],
) -> None:
    client, url = hub
    name, password = account(url, Role.PLANNER)
    _token(client, name, password)
    signed = client.post(
        "/auth/login", data={"username": name, "password": password}, follow_redirects=False
    )
    assert signed.status_code == 303
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT route, outcome, subject, roles, auth_method FROM audit_log"
            " WHERE route IN ('/auth/token', '/auth/login') ORDER BY audit_id"
        ).fetchall()
    assert rows == [
        ("/auth/token", 200, name, ["planner"], "token"),
        ("/auth/login", 303, name, ["planner"], "session"),
    ]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_the_login_page_sends_nowhere_but_the_hub(hub: tuple[TestClient, str], target: str) -> None:
    client, url = hub
    name, password = account(url, Role.VIEWER)
    signed = client.post(
        "/auth/login",
        data={"username": name, "password": password, "next": target},
        follow_redirects=False,
    )
    assert signed.headers["location"] == "/map"


def test_a_session_write_must_come_from_the_hubs_own_pages(hub: tuple[TestClient, str]) -> None:
    client, url = hub
    name, password = account(url, Role.EMERGENCY)
    client.post("/auth/login", data={"username": name, "password": password})
    ack = "/river/alerts/1/ack"
    assert client.post(ack, json={}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post(ack, json={}).status_code == 403  # no Origin: refused too
    assert client.post(ack, json={}, headers={"Origin": "http://testserver"}).status_code == 404


def test_links_follow_the_public_url_not_the_callers_host(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    settings = Settings(data_dir=tmp_path, public_url="https://hub.example.org/")
    with TestClient(create_app(settings, pg_url)) as client:
        landing = client.get("/", headers={"Host": "evil.example"}).json()
    hrefs = {link["href"] for link in landing["links"]}
    assert hrefs and all(h.startswith("https://hub.example.org/") for h in hrefs), hrefs


def test_the_cli_makes_accounts_and_keys_that_the_api_accepts(
    hub: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, url = hub
    env = {"SMARTCITY_DATABASE_URL": url, "SMARTCITY_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", *args], input=stdin, env=env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip

    made = cli("users", "add", "duty-officer", "--role", "emergency", "--password-stdin",
               stdin="a long enough password\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert cli("users", "add", "x y", "--role", "admin", "--password-stdin",
               stdin="a long enough password\n").returncode == 2  # fmt: skip
    assert "duty-officer\temergency\tactive" in cli("users", "list").stdout
    issued = _token(client, "duty-officer", "a long enough password")
    assert issued["access_token"]
    created = cli("api-keys", "create", "dashboard", "--role", "viewer")
    key = created.stdout.strip()
    assert key.startswith("sck_") and "shown once" in created.stderr
    assert client.get("/devices", headers={"X-API-Key": key}).status_code == 200
    key_id = cli("api-keys", "list").stdout.split("\t")[0]
    assert cli("api-keys", "revoke", key_id).returncode == 0
    time.sleep(directory.FRESH_S + 0.1)
    assert client.get("/devices", headers={"X-API-Key": key}).status_code == 401


def test_the_city_providers_tokens_open_what_their_roles_allow(
    pg_url: str, tmp_path: Path, oidc_provider: OidcTestProvider
) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    settings = Settings(
        data_dir=tmp_path, oidc_issuer=oidc_provider.issuer, oidc_audience=OIDC_AUDIENCE
    )
    with TestClient(create_app(settings, pg_url)) as client:
        duty = {"Authorization": f"Bearer {oidc_provider.token('flood-desk')}"}
        planner = {"Authorization": f"Bearer {oidc_provider.token('planning-office')}"}
        me = client.get("/auth/me", headers=duty).json()
        assert me["method"] == "oidc" and me["roles"] == ["emergency", "viewer"]
        assert client.post("/river/alerts/1/ack", json={}, headers=duty).status_code == 404
        assert client.post("/river/alerts/1/ack", json={}, headers=planner).status_code == 403
        assert client.get("/devices", headers=planner).status_code == 200
        other = {"Authorization": f"Bearer {oidc_provider.token('flood-desk', OTHER_API)}"}
        refused = client.get("/devices", headers=other)
        assert refused.status_code == 401 and "invalid_token" in refused.headers["www-authenticate"]
        # the hub's own accounts keep working beside the provider
        name, password = account(pg_url, Role.VIEWER)
        assert (
            client.get(
                "/devices",
                headers={
                    "Authorization": f"Bearer {_token(client, name, password)['access_token']}"
                },
            ).status_code
            == 200
        )
