"""Accept the access tokens of the city's OpenID Connect provider (Keycloak, Entra ID).

A caller sends ``Authorization: Bearer <token>``, the token being an OAuth 2.0 access token
in JWT form (RFC 9068). :class:`OidcVerifier` checks it and names the caller::

    verifier = verifier_from(AuthSettings())        # None: no provider configured
    principal = await verifier.verify(token)        # Principal, or InvalidToken (401)

What is checked, each refusal an :class:`InvalidToken` with a specific message:

- the header: ``typ`` ``at+jwt`` or ``application/at+jwt`` (RFC 9068), or ``JWT``, which
  Keycloak (unless a client sets "access.token.header.type.rfc9068") and Entra ID send;
  Keycloak's ID tokens (payload ``typ: ID``) are refused, they are not access tokens;
- the algorithm, from :data:`ALGORITHMS` only (asymmetric): ``alg: none`` and HS256 "signed"
  with the provider's public key are refused before any key is looked at;
- the signature, by the key of the provider's JWKS that the header's ``kid`` names;
- ``iss`` equal to the configured issuer, ``aud`` naming the configured audience, ``exp``,
  ``nbf`` and ``iat`` with :data:`LEEWAY_S` of clock skew; ``sub``, ``iat``, ``exp`` present.

For the browser sign-in (:mod:`auth.oidc_login`), :meth:`OidcVerifier.id_token_claims` checks
an ID token (OpenID Connect Core 3.1.3.7) by the same keys: signature, ``iss``, ``aud`` naming
the hub's client, lifetime, then ``nonce``, ``azp`` and ``at_hash`` by Authlib's
``CodeIDToken``; and :meth:`OidcVerifier.provider_metadata` gives the discovery document's
endpoints.

Keys come from the provider's discovery document (``{issuer}/.well-known/openid-configuration``
→ ``jwks_uri``), fetched on first use, again after :data:`KEYS_MAX_AGE_S` (behind the request
that finds them old: the cached keys serve meanwhile), and when a token names a ``kid`` the
cached set lacks: so a key rotation at the provider needs no restart. Such
fetches are rate limited (:data:`REFETCH_INTERVAL_S`): a flood of tokens with invented ``kid``
values costs the provider at most one request per interval. A provider that cannot be reached
gives :class:`ProviderUnavailable` (503) for tokens whose key is not cached; keys fetched before
keep working meanwhile, so emergency staff stay signed in through an outage of the provider.

PyJWT does the cryptography. Its ``PyJWKClient`` is not used: it fetches with blocking urllib and
refetches on every unknown ``kid`` without a limit; here httpx fetches asynchronously (the API's
event loop is never blocked) and PyJWT is handed the key.

Entra ID: set ``accessTokenAcceptedVersion: 2`` in the API's app manifest, so tokens carry the
v2.0 issuer (``https://login.microsoftonline.com/{tenant}/v2.0``) that discovery names; roles
are in ``roles`` (``SMARTCITY_OIDC_ROLES_CLAIM=roles``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from authlib.oidc.core import CodeIDToken
from joserfc.errors import ClaimError, JoseError

from auth.principal import Principal
from settings.auth import AuthSettings

log = logging.getLogger(__name__)

ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Signature algorithms accepted: asymmetric only, so no key of the JWKS is ever an HMAC secret."""

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
"""Header ``typ`` values of an access token, compared in lower case (media types)."""

EXPLICIT_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
"""Header ``typ`` values that only an access token has (RFC 9068): never an ID token."""

LEEWAY_S = 30
"""Clock skew tolerated between the provider and the hub, on ``exp``, ``nbf`` and ``iat``."""

REFETCH_INTERVAL_S = 10.0
"""At most one fetch of the provider's keys per interval, whatever the tokens ask for."""

KEYS_MAX_AGE_S = 300.0
"""Keys older than this are fetched again, so a key the provider withdrew stops working."""

FETCH_TIMEOUT_S = 5.0
"""Timeout of each request to the provider (connect, read)."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class OidcError(Exception):
    """A bearer token of the OpenID provider that cannot be accepted, for any reason."""

    status_code = 401
    title = "Invalid token"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidToken(OidcError):
    """The token is refused: forged, altered, expired, or meant for someone else."""

    status_code = 401
    title = "Invalid token"

    @property
    def headers(self) -> dict[str, str]:
        """RFC 6750's challenge, which tells a client to get a new token."""
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class ProviderUnavailable(OidcError):
    """The provider's keys cannot be fetched now: the token is neither accepted nor refused."""

    status_code = 503
    title = "Sign-in unavailable"
    public_message = True

    @property
    def headers(self) -> dict[str, str]:
        """When the next attempt to reach the provider will be made."""
        return {"Retry-After": str(round(REFETCH_INTERVAL_S))}


class OidcVerifier:
    """Checks the provider's access tokens and makes a :class:`Principal` of each.

    ``refetch_interval_s`` and ``keys_max_age_s`` default to the module's constants; tests
    shorten them. One verifier serves the whole application (it holds the key cache) and is
    used from one event loop.
    """

    def __init__(
        self,
        settings: AuthSettings,
        *,
        refetch_interval_s: float = REFETCH_INTERVAL_S,
        keys_max_age_s: float = KEYS_MAX_AGE_S,
    ) -> None:
        issuer, audience = settings.oidc_issuer, settings.oidc_audience
        if not issuer:
            raise ValueError("SMARTCITY_OIDC_ISSUER is not set: there is no provider to verify")
        if not audience:
            raise ValueError(
                "SMARTCITY_OIDC_AUDIENCE is required with SMARTCITY_OIDC_ISSUER: without it any"
                " token of the provider, for any application, would be accepted; set it to the"
                " audience the provider puts in the hub's tokens (its client id)"
            )
        url = urlsplit(issuer)
        if url.scheme != "https" and not (url.scheme == "http" and url.hostname in LOOPBACK_HOSTS):
            raise ValueError(
                f"SMARTCITY_OIDC_ISSUER must be an https:// URL (plain http only on loopback),"
                f" got {issuer!r}"
            )
        self.issuer = issuer
        self.audience = audience
        self.roles_claim = settings.oidc_roles_claim
        self._keys = _ProviderKeys(issuer, refetch_interval_s, keys_max_age_s)

    async def verify(self, token: str) -> Principal:
        """The caller a bearer access token names; InvalidToken if it is refused, and
        ProviderUnavailable if its key cannot be fetched now."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("token is not a well-formed JWT") from None
        alg, kid = _checked_header(header)
        key = await self._keys.key(kid, alg)
        claims = self._claims(token, key, alg, self.audience)
        if claims.get("typ") == "ID":
            raise InvalidToken("an ID token is not an access token")
        return self._principal(claims)

    async def id_token_claims(
        self, token: str, *, client_id: str, nonce: str, access_token: str
    ) -> dict[str, Any]:
        """The claims of an ID token that the provider gave the hub's client ``client_id``
        for the sign-in that sent ``nonce``, with ``access_token`` (its ``at_hash``, if
        any, must match); InvalidToken says why not, ProviderUnavailable as in
        :meth:`verify`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the ID token is not a well-formed JWT") from None
        typ = header.get("typ")
        if isinstance(typ, str) and typ.lower() in EXPLICIT_ACCESS_TOKEN_TYPES:
            raise InvalidToken("an access token is not an ID token")
        alg, kid = _signing(header)
        key = await self._keys.key(kid, alg)
        claims = self._claims(token, key, alg, client_id, what="the ID token")
        params = {"nonce": nonce, "client_id": client_id, "access_token": access_token}
        try:
            CodeIDToken(claims, header, params=params).validate(leeway=LEEWAY_S)
        except ClaimError as exc:
            if exc.claim == "nonce":
                raise InvalidToken(
                    "the ID token's nonce is not the one this sign-in sent: a replayed or"
                    " substituted ID token"
                ) from None
            raise InvalidToken(f"the ID token is refused: {exc.description}") from None
        except JoseError as exc:
            raise InvalidToken(f"the ID token is refused: {exc.description}") from None
        return claims

    async def provider_metadata(self) -> dict[str, Any]:
        """The provider's discovery document (its endpoints, what it supports), fetched
        once; ProviderUnavailable while it cannot be."""
        return await self._keys.metadata()

    def _claims(
        self, token: str, key: Any, alg: str, audience: str, what: str = "token"
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            refusal = _refusal(exc)
            raise InvalidToken(refusal if what == "token" else f"{what}: {refusal}") from None
        return claims

    def _principal(self, claims: dict[str, Any]) -> Principal:
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("the 'sub' claim must be a non-empty string")
        roles = _claim(claims, self.roles_claim)
        if roles is None:
            roles = []  # a user without roles is signed in, and may do what anonymous may
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken(f"the {self.roles_claim!r} claim is not a list of role names")
        client = claims.get("azp") or claims.get("client_id")
        return Principal.of(
            subject, roles, "oidc", client=client if isinstance(client, str) else None
        )


def verifier_from(settings: AuthSettings, **tuning: float) -> OidcVerifier | None:
    """The verifier of the configured provider, or None when none is configured (the embedded
    default: local accounts and API keys). Build it once, in the app factory, and keep it:
    it holds the provider's keys. ``tuning``: :class:`OidcVerifier`'s keyword arguments."""
    if settings.oidc_issuer is None:
        return None
    return OidcVerifier(settings, **tuning)


def _refusal(exc: jwt.PyJWTError) -> str:
    """Why PyJWT refused a token, in the words of this module's refusals."""
    if isinstance(exc, jwt.InvalidSignatureError):
        return "signature does not verify"
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "token not yet valid"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "wrong audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "wrong issuer"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"token lacks the {exc.claim!r} claim"
    return f"token refused: {exc}"


def _checked_header(header: dict[str, Any]) -> tuple[str, str]:
    """The algorithm and key id of an acceptable access token header; InvalidToken
    otherwise."""
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidToken(f"token type {typ!r} is not an access token (expected 'at+jwt')")
    return _signing(header)


def _signing(header: dict[str, Any]) -> tuple[str, str]:
    """The algorithm and key id a header names, if acceptable; InvalidToken otherwise."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise InvalidToken(f"algorithm {alg} not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("token names no signing key (kid)")
    return alg, kid


def _claim(claims: dict[str, Any], path: str) -> Any:
    """The claim at a dotted ``path`` (``realm_access.roles``), or None. A claim whose own name
    holds dots (``https://hub.example.org/roles``) is found by its whole name first."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class _ProviderKeys:
    """The provider's signing keys: discovered, cached, refetched at a limited rate."""

    def __init__(self, issuer: str, refetch_interval_s: float, max_age_s: float) -> None:
        self._issuer = issuer
        self._discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._interval = refetch_interval_s
        self._max_age = max_age_s
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, dict[str, Any]] = {}
        self._keys: dict[tuple[str, str], Any] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._failed = False
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    async def key(self, kid: str, alg: str) -> Any:
        """The public key ``kid`` names, for ``alg``. InvalidToken if the provider does not
        publish it or it does not fit ``alg``; ProviderUnavailable if it cannot be fetched."""
        if kid not in self._jwks:
            async with self._lock:
                if kid not in self._jwks:  # else fetched meanwhile by a task we waited for
                    await self._update()
        elif self._stale() and (self._refresh is None or self._refresh.done()):
            # The cached key serves now; fresh keys are fetched behind this request.
            self._refresh = asyncio.create_task(self._update_locked())
        jwk = self._jwks.get(kid)
        if jwk is None:
            if self._failed:
                raise ProviderUnavailable(
                    "the city's sign-in provider cannot be reached to check this token; retry later"
                )
            raise InvalidToken("unknown signing key")
        if (kid, alg) not in self._keys:
            self._keys[kid, alg] = _public_key(jwk, alg)
        return self._keys[kid, alg]

    def _stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age

    async def _update_locked(self) -> None:
        async with self._lock:
            await self._update()

    async def _update(self) -> None:
        """Fetch the keys, unless a fetch was tried less than the interval ago. A failure
        keeps the keys fetched before."""
        now = time.monotonic()
        if self._attempted_at is not None and now - self._attempted_at < self._interval:
            return
        self._attempted_at = now
        try:
            jwks = await self._fetch()
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            self._failed = True
            log.warning(
                "cannot fetch the keys of the OpenID provider %s (%s: %s); %d keys kept",
                self._issuer,
                type(exc).__name__,
                exc,
                len(self._jwks),
            )
            return
        self._jwks, self._keys = jwks, {}
        self._failed, self._fetched_at = False, now

    async def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched on first use and kept; ProviderUnavailable
        while it cannot be fetched."""
        if self._metadata is not None:
            return self._metadata
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S) as client:
                return await self._discover(client)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            log.warning(
                "cannot read the discovery document of the OpenID provider %s (%s: %s)",
                self._issuer,
                type(exc).__name__,
                exc,
            )
            raise ProviderUnavailable(
                "the city's sign-in provider cannot be reached; retry later"
            ) from None

    async def _discover(self, client: httpx.AsyncClient) -> dict[str, Any]:
        if self._metadata is None:
            discovery = await _json(client, self._discovery_url)
            if discovery.get("issuer") != self._issuer:
                raise ValueError(
                    f"the discovery document names the issuer {discovery.get('issuer')!r},"
                    f" not SMARTCITY_OIDC_ISSUER {self._issuer!r}"
                )
            if not isinstance(discovery.get("jwks_uri"), str):
                raise ValueError("the discovery document has no jwks_uri")
            self._metadata = discovery
        return self._metadata

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        """The signing keys the provider publishes, by ``kid``."""
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S) as client:
            jwks_uri: str = (await self._discover(client))["jwks_uri"]
            keys = (await _json(client, jwks_uri)).get("keys")
        if not isinstance(keys, list):
            raise ValueError(f"{jwks_uri} is not a JWK set")
        signing = (k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig")
        return {k["kid"]: k for k in signing if isinstance(k.get("kid"), str)}


async def _json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    answer = await client.get(url, headers={"Accept": "application/json"})
    answer.raise_for_status()
    document = answer.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document


def _public_key(jwk: dict[str, Any], alg: str) -> Any:
    """The key of ``jwk`` for ``alg``: InvalidToken if the key names another algorithm or is
    of another type (an EC key for RS256, say)."""
    if jwk.get("alg", alg) != alg:
        raise InvalidToken(f"algorithm {alg} does not match the signing key ({jwk['alg']})")
    try:
        return jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWTError, TypeError, ValueError):
        raise InvalidToken(f"algorithm {alg} does not match the signing key") from None
