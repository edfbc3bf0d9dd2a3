"""The OpenID provider's access tokens, checked against a real certified provider.

Tokens come from panva's oidc-provider over HTTP (client-credentials grant). Tokens that a
provider would never issue on request (expired, without ``sub``, another issuer) are the
provider's own claims re-signed with its own key, so only the claim under test is wrong.
Forgeries (``alg: none``, HS256 keyed with the public key, a stranger's key, an altered
payload) are built here as an attacker would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI, Header
from fastapi.testclient import TestClient

from api import errors
from auth.oidc import (
    FETCH_TIMEOUT_S,
    LEEWAY_S,
    InvalidToken,
    OidcVerifier,
    ProviderUnavailable,
    verifier_from,
)
from auth.principal import Principal, Role
from settings.auth import AuthSettings
from tests.oidc_provider import HUB, OTHER_API, OidcTestProvider, new_key

pytestmark = pytest.mark.integration


def _verifier(
    issuer: str, roles_claim: str = "realm_access.roles", **tuning: float
) -> OidcVerifier:
    settings = AuthSettings(oidc_issuer=issuer, oidc_audience=HUB, oidc_roles_claim=roles_claim)
    verifier = verifier_from(settings, **tuning)
    assert verifier is not None
    return verifier


def _verify(verifier: OidcVerifier, token: str) -> Principal:
    return asyncio.run(verifier.verify(token))


def _refusal(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        _verify(verifier, token)
    return refused.value.detail


def _claims(token: str) -> dict[str, Any]:
    """What a token says, unchecked: the base of the tokens re-signed here."""
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(document: dict[str, Any]) -> str:
    return _b64(json.dumps(document).encode())


# --- accepted ---------------------------------------------------------------------------


def test_a_token_of_the_provider_names_its_client_and_roles(
    oidc_provider: OidcTestProvider,
) -> None:
    verifier = _verifier(oidc_provider.issuer)
    token = oidc_provider.token("flood-desk")
    # oidc-provider follows RFC 9068: explicit type, signed by a key the JWKS names
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "typ": "at+jwt",
        "kid": oidc_provider.kid,
    }

    principal = _verify(verifier, token)

    assert principal == Principal(
        "flood-desk", frozenset({Role.EMERGENCY, Role.VIEWER}), "oidc", client="flood-desk"
    )


def test_roles_the_hub_does_not_know_are_left_out_and_none_is_no_role(
    oidc_provider: OidcTestProvider,
) -> None:
    verifier = _verifier(oidc_provider.issuer)
    planner = _verify(verifier, oidc_provider.token("planning-office"))
    nobody = _verify(verifier, oidc_provider.token("no-roles"))
    assert (planner.subject, planner.roles) == ("planning-office", frozenset({Role.PLANNER}))
    assert (nobody.subject, nobody.roles) == ("no-roles", frozenset())


def test_the_roles_claim_comes_from_the_settings_entra_style(
    oidc_provider: OidcTestProvider,
) -> None:
    token = oidc_provider.token("entra-app")  # realm_access.roles: viewer; roles: admin
    keycloak_style = _verify(_verifier(oidc_provider.issuer), token)
    entra_style = _verify(_verifier(oidc_provider.issuer, roles_claim="roles"), token)
    assert keycloak_style.roles == frozenset({Role.VIEWER})
    assert entra_style.roles == frozenset({Role.ADMIN})


def test_keycloak_and_entra_typ_jwt_is_accepted(oidc_provider: OidcTestProvider) -> None:
    claims = _claims(oidc_provider.token("flood-desk"))
    token = oidc_provider.sign(claims, typ="JWT")
    assert _verify(_verifier(oidc_provider.issuer), token).subject == "flood-desk"


def test_clock_skew_within_the_leeway_is_tolerated(oidc_provider: OidcTestProvider) -> None:
    now = int(time.time())
    claims = _claims(oidc_provider.token("flood-desk"))
    late = oidc_provider.sign({**claims, "iat": now - 600, "exp": now - LEEWAY_S + 10})
    early = oidc_provider.sign({**claims, "iat": now + LEEWAY_S - 10, "nbf": now + 5})
    verifier = _verifier(oidc_provider.issuer)
    assert _verify(verifier, late).subject == "flood-desk"
    assert _verify(verifier, early).subject == "flood-desk"


# --- refused ----------------------------------------------------------------------------


def test_a_token_for_another_api_of_the_provider_is_refused(
    oidc_provider: OidcTestProvider,
) -> None:
    token = oidc_provider.token("flood-desk", resource=OTHER_API)
    assert _claims(token)["aud"] == OTHER_API
    assert _refusal(_verifier(oidc_provider.issuer), token) == "wrong audience"


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"exp": -LEEWAY_S - 10, "iat": -600}, "token expired"),
        ({"nbf": LEEWAY_S + 30}, "token not yet valid"),
        ({"iat": LEEWAY_S + 30}, "token not yet valid"),
    ],
    ids=["expired", "nbf-future", "iat-future"],
)
def test_a_token_outside_its_lifetime_is_refused(
    oidc_provider: OidcTestProvider, change: dict[str, int], refusal: str
) -> None:
    now = int(time.time())
    claims = _claims(oidc_provider.token("flood-desk"))
    token = oidc_provider.sign({**claims, **{k: now + v for k, v in change.items()}})
    assert _refusal(_verifier(oidc_provider.issuer), token) == refusal


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"iss": "https://login.microsoftonline.com/other/v2.0"}, "wrong issuer"),
        ({"sub": None}, "token lacks the 'sub' claim"),
        ({"exp": None}, "token lacks the 'exp' claim"),
        ({"sub": ""}, "the 'sub' claim must be a non-empty string"),
        ({"realm_access": {"roles": "admin"}}, "the 'realm_access.roles' claim is not a list"),
        ({"typ": "ID"}, "an ID token is not an access token"),
    ],
    ids=["issuer", "no-sub", "no-exp", "empty-sub", "roles-not-a-list", "keycloak-id-token"],
)
def test_a_token_with_a_wrong_claim_is_refused(
    oidc_provider: OidcTestProvider, change: dict[str, Any], refusal: str
) -> None:
    claims = {**_claims(oidc_provider.token("flood-desk")), **change}
    token = oidc_provider.sign({k: v for k, v in claims.items() if v is not None})
    assert _refusal(_verifier(oidc_provider.issuer), token).startswith(refusal)


def test_a_tampered_payload_is_refused(oidc_provider: OidcTestProvider) -> None:
    token = oidc_provider.token("planning-office")
    header, _, signature = token.split(".")
    claims = _claims(token)
    claims["realm_access"] = {"roles": ["admin"]}
    forged = f"{header}.{_segment(claims)}.{signature}"
    assert _refusal(_verifier(oidc_provider.issuer), forged) == "signature does not verify"


def test_alg_none_is_refused(oidc_provider: OidcTestProvider) -> None:
    claims = _claims(oidc_provider.token("flood-desk"))
    unsigned = f"{_segment({'alg': 'none', 'typ': 'at+jwt', 'kid': oidc_provider.kid})}"
    unsigned += f".{_segment(claims)}."
    assert _refusal(_verifier(oidc_provider.issuer), unsigned) == "algorithm none not accepted"


def test_hs256_keyed_with_the_public_key_is_refused(oidc_provider: OidcTestProvider) -> None:
    """The classic confusion: the attacker HMACs with the public key every client can read."""
    claims = {**_claims(oidc_provider.token("flood-desk")), "realm_access": {"roles": ["admin"]}}
    pem = oidc_provider.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": oidc_provider.kid}
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{_b64(mac)}"
    assert _refusal(_verifier(oidc_provider.issuer), forged) == "algorithm HS256 not accepted"


def test_a_key_the_provider_does_not_publish_is_refused(oidc_provider: OidcTestProvider) -> None:
    stranger, stranger_jwk = new_key()
    claims = _claims(oidc_provider.token("flood-desk"))
    own_kid = jwt.encode(
        claims, stranger, "RS256", headers={"typ": "at+jwt", "kid": stranger_jwk["kid"]}
    )
    borrowed_kid = jwt.encode(
        claims, stranger, "RS256", headers={"typ": "at+jwt", "kid": oidc_provider.kid}
    )
    verifier = _verifier(oidc_provider.issuer)
    assert _refusal(verifier, own_kid) == "unknown signing key"
    assert _refusal(verifier, borrowed_kid) == "signature does not verify"


def test_an_algorithm_the_key_is_not_for_is_refused(oidc_provider: OidcTestProvider) -> None:
    claims = _claims(oidc_provider.token("flood-desk"))
    token = jwt.encode(
        claims, oidc_provider.key, "PS256", headers={"typ": "at+jwt", "kid": oidc_provider.kid}
    )
    assert (
        _refusal(_verifier(oidc_provider.issuer), token)
        == "algorithm PS256 does not match the signing key (RS256)"
    )


@pytest.mark.parametrize(
    ("header", "refusal"),
    [
        (None, "token is not a well-formed JWT"),
        ({"alg": "RS256", "typ": "dpop+jwt", "kid": "k"}, "token type 'dpop+jwt' is not an access"),
        ({"alg": "RS256", "kid": "k"}, "token type None is not an access token"),
        ({"alg": ["RS256"], "typ": "at+jwt", "kid": "k"}, "algorithm ['RS256'] not accepted"),
        ({"alg": "RS256", "typ": "at+jwt"}, "token names no signing key (kid)"),
    ],
    ids=["garbage", "other-type", "no-type", "alg-not-a-string", "no-kid"],
)
def test_a_malformed_token_is_refused_before_any_key_is_fetched(
    oidc_provider: OidcTestProvider, header: dict[str, Any] | None, refusal: str
) -> None:
    token = "not-a-token" if header is None else f"{_segment(header)}.e30."
    fetches = oidc_provider.jwks_fetches()
    assert _refusal(_verifier(oidc_provider.issuer), token).startswith(refusal)
    assert oidc_provider.jwks_fetches() == fetches


# --- keys: rotation, rate limit, outage -------------------------------------------------


def test_a_key_rotation_is_followed_without_a_new_verifier(
    oidc_provider: OidcTestProvider,
) -> None:
    interval = 1.0
    verifier = _verifier(oidc_provider.issuer, refetch_interval_s=interval)
    before = oidc_provider.token("flood-desk")
    assert _verify(verifier, before).subject == "flood-desk"
    fetched = time.monotonic()

    oidc_provider.rotate()
    after = oidc_provider.token("flood-desk")
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    time.sleep(max(0.0, fetched + interval - time.monotonic()) + 0.1)

    assert _verify(verifier, after).roles == frozenset({Role.EMERGENCY, Role.VIEWER})
    assert oidc_provider.jwks_fetches() == 1
    # the provider no longer publishes the old key: its tokens stop working
    assert _refusal(verifier, before) == "unknown signing key"


def test_unknown_kids_refetch_the_keys_at_most_once_per_interval(
    oidc_provider: OidcTestProvider,
) -> None:
    interval = 2.0
    verifier = _verifier(oidc_provider.issuer, refetch_interval_s=interval)
    genuine = oidc_provider.token("flood-desk")
    stranger, _ = new_key()
    claims = _claims(genuine)

    # Made beforehand (RSA signing is slow): the floods themselves take milliseconds.
    invented = [
        jwt.encode(claims, stranger, "RS256", headers={"typ": "at+jwt", "kid": uuid.uuid4().hex})
        for _ in range(201)
    ]
    floods = [invented[:100] + [genuine], invented[100:200] + [genuine]]

    async def flood(tokens: list[str]) -> list[BaseException | Principal]:
        return await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)

    async def scenario() -> list[int]:
        counts = [oidc_provider.jwks_fetches()]
        await verifier.verify(genuine)  # first use: discovery and keys
        counts.append(oidc_provider.jwks_fetches())
        await asyncio.sleep(interval + 0.1)
        for tokens in floods:  # two floods within one interval
            answers = await flood(tokens)
            assert [str(a) for a in answers[:-1]] == ["unknown signing key"] * 100
            assert isinstance(answers[-1], Principal)  # the flood locks no one out
            counts.append(oidc_provider.jwks_fetches())
        await asyncio.sleep(interval + 0.1)
        with pytest.raises(InvalidToken, match="unknown signing key"):
            await verifier.verify(invented[200])
        counts.append(oidc_provider.jwks_fetches())
        return counts

    discoveries = oidc_provider.requests("/.well-known/openid-configuration")
    start, first, flood_1, flood_2, later = asyncio.run(scenario())
    assert (first - start, flood_1 - first, flood_2 - flood_1, later - flood_2) == (1, 1, 0, 1)
    # discovery is read once: jwks_uri is kept
    assert oidc_provider.requests("/.well-known/openid-configuration") == discoveries + 1


def test_old_keys_are_refreshed_behind_the_request_that_finds_them_old(
    oidc_provider: OidcTestProvider,
) -> None:
    verifier = _verifier(oidc_provider.issuer, refetch_interval_s=0.2, keys_max_age_s=0.2)
    token = oidc_provider.token("flood-desk")

    async def scenario() -> list[int]:
        counts = [oidc_provider.jwks_fetches()]
        await verifier.verify(token)
        counts.append(oidc_provider.jwks_fetches())
        await asyncio.sleep(0.3)
        await verifier.verify(token)  # answered from the cache, which is refreshed after
        answered = oidc_provider.jwks_fetches()
        counts.append(answered)
        deadline = time.monotonic() + 5
        while oidc_provider.jwks_fetches() == answered and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        counts.append(oidc_provider.jwks_fetches())
        return counts

    start, first, answered, refreshed = asyncio.run(scenario())
    assert (first - start, answered - first, refreshed - answered) == (1, 0, 1)


def test_cached_keys_outlive_an_outage_of_the_provider(oidc_provider: OidcTestProvider) -> None:
    verifier = _verifier(oidc_provider.issuer, refetch_interval_s=0.2, keys_max_age_s=0.2)
    token = oidc_provider.token("flood-desk")
    stranger, stranger_jwk = new_key()
    unknown = jwt.encode(
        _claims(token), stranger, "RS256", headers={"typ": "at+jwt", "kid": stranger_jwk["kid"]}
    )

    async def scenario() -> None:
        await verifier.verify(token)
        with oidc_provider.down():
            await asyncio.sleep(0.3)  # the keys are due for a refresh, which fails
            assert (await verifier.verify(token)).subject == "flood-desk"
            with pytest.raises(ProviderUnavailable):
                await verifier.verify(unknown)  # may be a new key: not the caller's fault
            await asyncio.sleep(0.3)  # more failed refreshes
            assert (await verifier.verify(token)).subject == "flood-desk"
        await asyncio.sleep(0.3)
        with pytest.raises(InvalidToken, match="unknown signing key"):
            await verifier.verify(unknown)

    asyncio.run(scenario())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_provider_that_cannot_be_reached_gives_unavailable(
    oidc_provider: OidcTestProvider,
) -> None:
    token = oidc_provider.token("flood-desk")
    verifier = _verifier(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(ProviderUnavailable) as unavailable:
        _verify(verifier, token)
    assert unavailable.value.status_code == 503


def test_a_provider_that_does_not_answer_times_out(oidc_provider: OidcTestProvider) -> None:
    token = oidc_provider.token("flood-desk")
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        verifier = _verifier(f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable):
            _verify(verifier, token)
        assert time.monotonic() - started < FETCH_TIMEOUT_S + 2


def test_a_discovery_document_of_another_issuer_is_not_trusted(
    oidc_provider: OidcTestProvider,
) -> None:
    """Discovery must name the configured issuer exactly (OpenID Connect Discovery 4.3)."""
    token = oidc_provider.token("flood-desk")
    verifier = _verifier(f"http://localhost:{oidc_provider.port}")  # the same server
    with pytest.raises(ProviderUnavailable):
        _verify(verifier, token)


# --- configuration ----------------------------------------------------------------------


def test_no_issuer_means_no_verifier() -> None:
    assert verifier_from(AuthSettings(oidc_issuer=None, oidc_audience=None)) is None


@pytest.mark.parametrize(
    ("issuer", "audience", "message"),
    [
        ("https://id.example.org/realms/city", None, "SMARTCITY_OIDC_AUDIENCE is required"),
        ("http://id.example.org/realms/city", HUB, "must be an https:// URL"),
    ],
)
def test_a_verifier_needs_an_audience_and_https(
    issuer: str, audience: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        verifier_from(AuthSettings(oidc_issuer=issuer, oidc_audience=audience))


# --- at the API edge --------------------------------------------------------------------


def _whoami(verifier: OidcVerifier) -> FastAPI:
    """An app with one route that signs its caller in, as the API's security dependency does."""
    app = FastAPI()
    errors.install(app)

    @app.get("/whoami")
    async def whoami(authorization: str = Header()) -> dict[str, str]:
        principal = await verifier.verify(authorization.removeprefix("Bearer "))
        return {"subject": principal.subject}

    return app


def test_refusals_answer_problem_json_with_their_status(oidc_provider: OidcTestProvider) -> None:
    token = oidc_provider.token("flood-desk")
    expired = oidc_provider.sign({**_claims(token), "exp": int(time.time()) - 3600})
    with TestClient(_whoami(_verifier(oidc_provider.issuer))) as client:
        ok = client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        refused = client.get("/whoami", headers={"Authorization": f"Bearer {expired}"})
    with TestClient(_whoami(_verifier(f"http://127.0.0.1:{_free_port()}"))) as client:
        unavailable = client.get("/whoami", headers={"Authorization": f"Bearer {token}"})

    assert (ok.status_code, ok.json()) == (200, {"subject": "flood-desk"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == errors.PROBLEM
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert (refused.json()["title"], refused.json()["detail"]) == ("Invalid token", "token expired")
    assert unavailable.status_code == 503
    assert unavailable.headers["content-type"] == errors.PROBLEM
    assert int(unavailable.headers["retry-after"]) > 0
    assert unavailable.json()["title"] == "Sign-in unavailable"
    assert "sign-in provider cannot be reached" in unavailable.json()["detail"]


# --- ID tokens of the browser sign-in ---------------------------------------------------

CLIENT = "hub-web"
NONCE = "n-0S6_WzA2Mj"


def _at_hash(access_token: str) -> str:
    """OpenID Connect Core 3.1.3.6: the left half of the SHA-256 of the token, base64url."""
    return _b64(hashlib.sha256(access_token.encode()).digest()[:16])


def _id_token(provider: OidcTestProvider, access_token: str, **change: Any) -> str:
    """An ID token as the provider issues one to the hub's client ``CLIENT``, ``change``d
    (a None drops the claim)."""
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "sub": "ana-duty",
        "aud": CLIENT,
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "at_hash": _at_hash(access_token),
    }
    claims.update(change)
    return provider.sign({k: v for k, v in claims.items() if v is not None}, typ="JWT")


def _id_claims(verifier: OidcVerifier, token: str, access_token: str) -> dict[str, Any]:
    return asyncio.run(
        verifier.id_token_claims(token, client_id=CLIENT, nonce=NONCE, access_token=access_token)
    )


def test_an_id_token_for_the_hubs_client_and_nonce_is_accepted(
    oidc_provider: OidcTestProvider,
) -> None:
    access = oidc_provider.token("flood-desk")
    verifier = _verifier(oidc_provider.issuer)
    assert _id_claims(verifier, _id_token(oidc_provider, access), access)["sub"] == "ana-duty"
    # several audiences: the hub's client must be the authorized party
    several = _id_token(oidc_provider, access, aud=[CLIENT, "other"], azp=CLIENT)
    assert _id_claims(verifier, several, access)["azp"] == CLIENT


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"aud": "another-client"}, "the ID token: wrong audience"),
        ({"iss": "https://login.microsoftonline.com/other/v2.0"}, "the ID token: wrong issuer"),
        ({"nonce": "replayed"}, "the ID token's nonce is not the one this sign-in sent"),
        ({"nonce": None}, "the ID token's nonce is not the one this sign-in sent"),
        (
            {"aud": [CLIENT, "other"], "azp": "other"},
            "the ID token is refused: Invalid claim: 'azp'",
        ),
        ({"at_hash": _at_hash("another access token")}, "Invalid claim: 'at_hash'"),
        ({"exp": int(time.time()) - LEEWAY_S - 10}, "the ID token: token expired"),
        ({"sub": None}, "the ID token: token lacks the 'sub' claim"),
    ],
    ids=["audience", "issuer", "nonce", "no-nonce", "azp", "at-hash", "expired", "no-sub"],
)
def test_an_id_token_with_a_wrong_claim_is_refused(
    oidc_provider: OidcTestProvider, change: dict[str, Any], refusal: str
) -> None:
    access = oidc_provider.token("flood-desk")
    verifier = _verifier(oidc_provider.issuer)
    with pytest.raises(InvalidToken) as refused:
        _id_claims(verifier, _id_token(oidc_provider, access, **change), access)
    assert refusal in refused.value.detail


def test_an_access_token_or_a_strangers_signature_is_no_id_token(
    oidc_provider: OidcTestProvider,
) -> None:
    access = oidc_provider.token("flood-desk")
    verifier = _verifier(oidc_provider.issuer)
    with pytest.raises(InvalidToken, match="an access token is not an ID token"):
        _id_claims(verifier, access, access)
    stranger, _ = new_key()
    claims = _claims(_id_token(oidc_provider, access))
    forged = jwt.encode(claims, stranger, "RS256", headers={"kid": oidc_provider.kid})
    with pytest.raises(InvalidToken, match="signature does not verify"):
        _id_claims(verifier, forged, access)
