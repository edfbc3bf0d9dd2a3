"""Browsers sign in with the city's OpenID provider: the authorization-code flow with PKCE,
driven over real HTTP as a browser drives it (a cookie jar, one redirect at a time, the
provider's own login and consent forms), between panva's certified oidc-provider and the
hub served on loopback; and what is refused, each refusal in the audit log.

The provider is the oracle: it checks the PKCE verifier against the challenge, the redirect
URI against the registered one, the client's authentication, and redeems a code once; the
roles come from its access tokens (tests/oidc_provider.py's ACCOUNTS).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from api.app import create_app
from api.routes.sign_in import CALLBACK, PENDING_COOKIE
from api.security import SESSION_COOKIE
from auth.principal import Role
from harness.credentials import account
from harness.live import live_server
from hub.broker import free_port
from settings import Settings
from storage import migrations
from tests.oidc_provider import HUB, OidcTestProvider

pytestmark = pytest.mark.integration

ACK = "/river/alerts/1/ack"
"""A write: acknowledging an alert (none exists: 404 once the caller may, 403 before)."""


@contextmanager
def _hub(
    pg_url: str,
    data_dir: Path,
    provider: OidcTestProvider,
    registered_as: str = "client_secret_basic",
    **settings: Any,
) -> Iterator[str]:
    """The hub on a loopback port, a client of ``provider`` registered with its callback
    and the token endpoint authentication ``registered_as``; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client_id, secret = provider.register(base + CALLBACK, registered_as)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    configured = Settings(
        **{
            "data_dir": data_dir,
            "public_url": base,
            "oidc_issuer": provider.issuer,
            "oidc_audience": HUB,
            "oidc_client_id": client_id,
            "oidc_client_secret": secret,
            "oidc_scopes": "openid hub",
            **settings,
        }
    )
    with live_server(create_app(configured, pg_url), port=port) as url:
        yield url


@pytest.fixture
def hub(pg_url: str, tmp_path: Path, oidc_provider: OidcTestProvider) -> Iterator[str]:
    with _hub(pg_url, tmp_path, oidc_provider) as url:
        yield url


class Browser:
    """What a browser does in a sign-in: keep cookies, follow redirects one at a time (so a
    test can stop at the hub's callback), fill in and send forms."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=30, headers={"Accept": "text/html"})

    def open(self, url: str | httpx.URL, stop_at: str = "\0") -> httpx.Response:
        """``url`` and its redirects, up to a page or to a redirect to ``stop_at``."""
        answer = self.http.get(url)
        while answer.is_redirect and not answer.headers["location"].startswith(stop_at):
            answer = self.http.get(answer.url.join(answer.headers["location"]))
        return answer

    def submit(self, page: httpx.Response, stop_at: str, **fields: str) -> httpx.Response:
        """Send the page's form with its hidden fields and ``fields``; follow as :meth:`open`."""
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        assert action, page.text
        hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        answer = self.http.post(page.url.join(action[1]), data={**hidden, **fields})
        if answer.is_redirect and not answer.headers["location"].startswith(stop_at):
            return self.open(answer.url.join(answer.headers["location"]), stop_at)
        return answer


def _at_provider(
    browser: Browser,
    hub: str,
    login: str = "ana-duty",
    start: str = "/auth/login?provider=oidc&next=/map",
    tamper: Callable[[str], str] = lambda url: url,
) -> str:
    """Sign in at the provider, from the hub's login page to the provider's redirect back:
    the callback URL, not yet opened."""
    begun = browser.http.get(hub + start)
    assert begun.status_code == 303, begun.text
    callback = hub + CALLBACK
    form = browser.open(tamper(begun.headers["location"]), stop_at=callback)
    assert 'name="login"' in form.text, form.text  # the provider's login form
    consent = browser.submit(form, callback, login=login, password="any password")
    assert 'name="prompt" value="consent"' in consent.text, consent.text
    back = browser.submit(consent, callback)
    assert back.status_code == 303 and back.headers["location"].startswith(callback), back.text
    return str(back.headers["location"])


def _refusals(pg_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(pg_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT subject, route, http_method, outcome, summary FROM audit_log"
            " WHERE action = 'sign-in-refused' ORDER BY audit_id"
        ).fetchall()


def _with(url: str, **params: str) -> str:
    """``url`` with ``params`` in its query replaced."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | params
    return parts._replace(query=urlencode(query)).geturl()


# --- signed in --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "roles", "ack"),
    [
        ("ana-duty", ["emergency", "viewer"], 404),  # may acknowledge: there is no alert 1
        ("paul-planner", ["planner"], 403),
        ("walk-in", [], 403),  # signed in, no role of the hub
    ],
)
def test_a_browser_signs_in_at_the_provider_with_the_roles_of_its_token(
    hub: str, login: str, roles: list[str], ack: int
) -> None:
    browser = Browser()
    begun = browser.http.get(hub + "/auth/login?provider=oidc&next=/map")
    asked = parse_qs(urlsplit(begun.headers["location"]).query)
    assert asked["response_type"] == ["code"] and asked["code_challenge_method"] == ["S256"]
    assert {"state", "nonce", "code_challenge"} <= set(asked)
    assert asked["redirect_uri"] == [hub + CALLBACK] and asked["scope"] == ["openid hub"]
    pending = begun.headers["set-cookie"]
    assert pending.startswith(PENDING_COOKIE) and f"Path={CALLBACK}" in pending
    assert "HttpOnly" in pending and "SameSite=lax" in pending

    back = browser.http.get(_at_provider(browser, hub, login))

    assert (back.status_code, back.headers["location"]) == (303, "/map")
    session = next(c for c in back.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" not in session
    assert "Max-Age=300" in session  # the provider's access token's life
    assert PENDING_COOKIE not in browser.http.cookies  # used once
    me = browser.http.get(hub + "/auth/me", headers={"Accept": "application/json"}).json()
    assert (me["subject"], me["roles"], me["method"]) == (login, roles, "session")
    assert browser.http.get(hub + "/map").status_code == 200
    # a write from the hub's own page passes the role check; from elsewhere it is refused
    assert browser.http.post(hub + ACK, json={}, headers={"Origin": hub}).status_code == ack
    refused = browser.http.post(hub + ACK, json={}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "hub's own pages" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("registered_as", "configured"),
    [
        ("none", {"oidc_client_secret": None}),  # a public client: PKCE alone
        ("client_secret_post", {"oidc_token_auth_method": "client_secret_post"}),
    ],
    ids=["public", "secret-post"],
)
def test_public_clients_and_other_client_authentications_sign_in(
    pg_url: str,
    tmp_path: Path,
    oidc_provider: OidcTestProvider,
    registered_as: str,
    configured: dict[str, Any],
) -> None:
    with _hub(pg_url, tmp_path, oidc_provider, registered_as, **configured) as hub:
        browser = Browser()
        back = browser.http.get(_at_provider(browser, hub))
        assert back.status_code == 303, back.text
        me = browser.http.get(hub + "/auth/me", headers={"Accept": "application/json"})
        assert me.json()["subject"] == "ana-duty"


def test_without_local_sign_in_the_login_page_is_the_providers(
    pg_url: str, tmp_path: Path, oidc_provider: OidcTestProvider
) -> None:
    with _hub(pg_url, tmp_path, oidc_provider, local_login=False) as hub:
        browser = Browser()
        page = browser.http.get(hub + "/map")  # not signed in: to the login page, the provider
        assert page.headers["location"] == "/auth/login?next=%2Fmap"
        begun = browser.http.get(hub + page.headers["location"])
        assert begun.status_code == 303
        assert begun.headers["location"].startswith(oidc_provider.issuer + "/auth?")
        name, password = account(pg_url, Role.ADMIN)
        form = {"username": name, "password": password}
        refused = browser.http.post(hub + "/auth/login", data=form)
        assert refused.status_code == 403 and "account only" in refused.text
        assert SESSION_COOKIE not in browser.http.cookies
    assert _refusals(pg_url)[-1]["subject"] == name


def test_the_login_page_offers_the_provider_beside_local_accounts(hub: str, pg_url: str) -> None:
    browser = Browser()
    page = browser.http.get(hub + "/auth/login?next=/twin/snapshot")
    assert 'href="/auth/login?provider=oidc&amp;next=%2Ftwin%2Fsnapshot"' in page.text
    assert '<form method="post" action="/auth/login">' in page.text  # not hidden
    name, password = account(pg_url, Role.VIEWER)
    local = browser.http.post(hub + "/auth/login", data={"username": name, "password": password})
    assert local.status_code == 303


# --- refused ----------------------------------------------------------------------------


def test_a_callback_with_another_state_is_refused(hub: str, pg_url: str) -> None:
    browser = Browser()
    callback = _at_provider(browser, hub)
    answer = browser.http.get(_with(callback, state="forged"))
    assert answer.status_code == 400
    assert "state is not the one of the sign-in this browser began" in answer.text
    assert SESSION_COOKIE not in browser.http.cookies
    (row,) = _refusals(pg_url)
    assert (row["route"], row["http_method"], row["outcome"]) == (CALLBACK, "GET", 400)
    assert "state" in row["summary"]


def test_a_callback_opened_in_another_browser_is_refused(hub: str, pg_url: str) -> None:
    """Login CSRF: someone sends their own callback URL, with their code, to a victim."""
    callback = _at_provider(Browser(), hub, login="mallory")
    victim = Browser()
    answer = victim.http.get(callback, headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Sign-in not started here"
    assert "no sign-in was begun in this browser" in answer.json()["detail"]
    assert SESSION_COOKIE not in victim.http.cookies
    assert _refusals(pg_url)[0]["outcome"] == 400


def test_a_replayed_code_is_refused_by_the_provider(hub: str, pg_url: str) -> None:
    browser = Browser()
    callback = _at_provider(browser, hub)
    pending = browser.http.cookies[PENDING_COOKIE]
    assert browser.http.get(callback).status_code == 303
    replay = Browser()  # with everything the first browser had
    replay.http.cookies.set(PENDING_COOKIE, pending, path=CALLBACK)
    answer = replay.http.get(callback)
    assert answer.status_code == 401
    assert "the provider refused the code: invalid_grant" in answer.text
    assert SESSION_COOKIE not in replay.http.cookies
    (row,) = _refusals(pg_url)
    assert (row["outcome"], row["summary"].split(":")[0]) == (401, "the provider refused the code")


def test_an_id_token_for_another_nonce_is_refused(hub: str, pg_url: str) -> None:
    """The nonce sent to the provider is altered on the way: the ID token carries that one,
    not the one the hub keeps for this sign-in."""
    browser = Browser()
    callback = _at_provider(browser, hub, tamper=lambda url: _with(url, nonce="substituted"))
    answer = browser.http.get(callback)
    assert answer.status_code == 401
    assert "nonce is not the one this sign-in sent" in answer.text
    assert SESSION_COOKIE not in browser.http.cookies
    assert "nonce" in _refusals(pg_url)[0]["summary"]


def test_an_altered_pending_sign_in_is_refused(hub: str, pg_url: str) -> None:
    browser = Browser()
    callback = _at_provider(browser, hub)
    pending = browser.http.cookies[PENDING_COOKIE]
    header, payload, signature = pending.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    browser.http.cookies.set(PENDING_COOKIE, forged, path=CALLBACK)
    answer = browser.http.get(callback)
    assert answer.status_code == 400 and "cannot be read" in answer.text
    assert SESSION_COOKIE not in browser.http.cookies


def test_a_sign_in_cancelled_at_the_provider_is_refused(hub: str, pg_url: str) -> None:
    browser = Browser()
    begun = browser.http.get(hub + "/auth/login?provider=oidc")
    form = browser.open(begun.headers["location"])
    cancel = re.search(r'<a href="([^"]+)">\[ Cancel \]</a>', form.text)
    assert cancel, form.text
    back = browser.open(form.url.join(cancel[1]), stop_at=hub + CALLBACK)
    assert parse_qs(urlsplit(back.headers["location"]).query)["error"] == ["access_denied"]
    answer = browser.http.get(back.headers["location"])
    assert answer.status_code == 401
    assert "the provider refused the sign-in: access_denied" in answer.text
    assert _refusals(pg_url)[0]["summary"].startswith("the provider refused the sign-in")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "map"]
)
def test_the_provider_sends_nowhere_but_the_hub(hub: str, target: str) -> None:
    browser = Browser()
    start = "/auth/login?" + urlencode({"provider": "oidc", "next": target})
    back = browser.http.get(_at_provider(browser, hub, start=start))
    assert (back.status_code, back.headers["location"]) == (303, "/map")


def test_a_provider_that_cannot_be_reached_is_said_so(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    settings = Settings(
        data_dir=tmp_path,
        oidc_issuer=f"http://127.0.0.1:{free_port()}",
        oidc_audience=HUB,
        oidc_client_id="hub",
    )
    with live_server(create_app(settings, pg_url)) as hub:
        answer = Browser().http.get(hub + "/auth/login?provider=oidc&next=/map")
    assert answer.status_code == 502
    assert "sign-in provider cannot be reached" in answer.text
    assert 'name="next" value="/map"' in answer.text  # the page, to try again


# --- configuration and the API's description ----------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"oidc_client_id": "hub"}, "SMARTCITY_OIDC_CLIENT_ID needs SMARTCITY_OIDC_ISSUER"),
        ({"local_login": False}, "SMARTCITY_LOCAL_LOGIN=false needs SMARTCITY_OIDC_CLIENT_ID"),
        ({"oidc_scopes": "profile email"}, "must include `openid`"),
    ],
)
def test_settings_that_could_not_sign_anyone_in_are_refused(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings(**settings)


def test_the_callback_is_a_public_operation_where_a_provider_is_configured(
    oidc_provider: OidcTestProvider,
) -> None:
    unused = "postgresql://unused@127.0.0.1/none"
    configured = Settings(oidc_issuer=oidc_provider.issuer, oidc_audience=HUB, oidc_client_id="hub")
    callback = create_app(configured, unused).openapi()["paths"][CALLBACK]["get"]
    assert "security" not in callback and "Access: public." in callback["description"]
    assert {"303", "400", "401", "502"} <= set(callback["responses"])
    assert CALLBACK not in create_app(Settings(), unused).openapi()["paths"]
