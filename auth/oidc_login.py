"""Browsers sign in with the city's OpenID provider: the authorization-code flow with PKCE
(OpenID Connect Core 3.1, RFC 7636), as RFC 9700 asks of browser-based sign-in::

    login = BrowserSignIn(settings, verifier, key)           # once, in the app factory
    url, pending = await login.start(redirect_uri, "/map")    # GET /auth/login?provider=oidc
    signed = await login.finish(pending, answer_params)       # GET /auth/oidc/callback

:meth:`BrowserSignIn.start` makes a ``state`` (the callback cannot be forged from another
site), a ``nonce`` (the ID token is bound to this sign-in) and a PKCE ``code_verifier`` (the
code is bound to this browser: a code stolen on its way back cannot be redeemed), and the
provider's authorization URL with them (S256 challenge). They travel to the callback in the
*pending* value, which the web layer keeps in a short-lived HttpOnly cookie: a JWT signed
with the hub's own Ed25519 key (:mod:`auth.tokens`), for :data:`PENDING_TTL_S`. So any API
process of the hub finishes a sign-in another began, with nothing stored between them. It is
signed, not encrypted: what it holds is the business of the browser that holds it, and of
no use without the code the provider sends that browser.

:meth:`BrowserSignIn.finish` checks, in this order: the pending value (signature, age), the
``state``, the answer's ``iss`` (RFC 9207, against mix-up with another provider), an
``error`` the provider sent; then it redeems the code with the verifier at the token
endpoint, authenticated as a confidential client (``client_secret_basic`` where the
discovery document allows it, else ``client_secret_post``, or as configured) or as a public
one (``none``); then it checks the ID token (:meth:`auth.oidc.OidcVerifier.id_token_claims`:
signature by the provider's cached keys, issuer, audience, nonce) and the access token
(:meth:`auth.oidc.OidcVerifier.verify`, which gives the roles), which must name the same
user. Each refusal is a :class:`SignInRefused` with its status and a message for the user.
Replaying a code is refused by the provider (RFC 6749 4.1.2: a code is used once).

Authlib writes the protocol's messages (authorization URL, PKCE challenge, token request,
client authentication); httpx carries them; PyJWT checks signatures. Authlib's own web
clients are not used: they keep the state in a server-side session the hub does not have,
and would fetch the provider's keys beside the verifier's cache.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth.oidc import FETCH_TIMEOUT_S, OidcError, OidcVerifier
from auth.principal import Principal
from settings.auth import AuthSettings

log = logging.getLogger(__name__)

PENDING_TTL_S = 600
"""How long a browser has to sign in at the provider, from the login page to the callback."""
PENDING_AUDIENCE = "smartcity-hub:oidc-login"
"""The ``aud`` of a pending sign-in: no access token of the hub names it, so one can never
be taken for the other."""
PENDING_TYPE = "oidc-login+jwt"
SECRET_BYTES = 32
"""Randomness of ``state``, ``nonce`` and the PKCE verifier (43 characters, RFC 7636's least)."""
DEFAULT_AUTH_METHODS = ("client_secret_basic",)
"""What a discovery document that lists no token endpoint authentication methods means
(OpenID Connect Discovery 1.0, 3)."""


class SignInRefused(Exception):
    """A browser sign-in with the provider that cannot be completed; ``subject`` is the
    user the provider named, when it got that far."""

    status_code = 401
    title = "Sign-in refused"

    def __init__(self, detail: str, subject: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.subject = subject


class SignInNotStarted(SignInRefused):
    """The callback does not continue a sign-in this browser began here, or too long ago."""

    status_code = 400
    title = "Sign-in not started here"


class SignInUnavailable(SignInRefused):
    """The provider cannot be reached, or answers what the hub cannot use."""

    status_code = 502
    title = "Sign-in provider unavailable"


@dataclass(frozen=True)
class Pending:
    """A sign-in begun: what the callback needs to finish it."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    return_to: str


@dataclass(frozen=True)
class SignedIn:
    """A finished sign-in: the user, the access token that opens the session, its life in
    seconds (None where the provider did not say), and the page to go back to."""

    principal: Principal
    access_token: str
    expires_in: int | None
    return_to: str


class BrowserSignIn:
    """The hub as the provider's client, for browsers; one per application."""

    def __init__(
        self, settings: AuthSettings, verifier: OidcVerifier, key: Ed25519PrivateKey
    ) -> None:
        if not settings.oidc_client_id:
            raise ValueError("SMARTCITY_OIDC_CLIENT_ID is not set: browsers have no client")
        self.client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret
        self._secret = secret.get_secret_value() if secret is not None else None
        self._auth_method = settings.oidc_token_auth_method
        self.scopes = settings.oidc_scopes
        self._verifier = verifier
        self._key = key

    async def start(self, redirect_uri: str, return_to: str) -> tuple[str, str]:
        """The provider's authorization URL for a new sign-in, and its pending value for
        the callback. SignInUnavailable when the provider cannot be asked."""
        metadata = await self._metadata()
        endpoint = _endpoint(metadata, "authorization_endpoint")
        methods = metadata.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise SignInUnavailable(
                "the provider does not support PKCE with S256 (its discovery document lists"
                f" {methods}); the hub signs in with S256 only"
            )
        pending = Pending(
            state=secrets.token_urlsafe(SECRET_BYTES),
            nonce=secrets.token_urlsafe(SECRET_BYTES),
            code_verifier=secrets.token_urlsafe(SECRET_BYTES),
            redirect_uri=redirect_uri,
            return_to=return_to,
        )
        url = prepare_grant_uri(
            endpoint,
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=self.scopes,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.code_verifier),
            code_challenge_method="S256",
        )
        return str(url), self._seal(pending)

    async def finish(self, pending: str | None, answer: Mapping[str, str]) -> SignedIn:
        """The signed-in user from the provider's answer (the callback's query parameters)
        to the sign-in ``pending`` began; SignInRefused (or a subclass) says why not."""
        started = self._open(pending)
        if not hmac.compare_digest(answer.get("state", "").encode(), started.state.encode()):
            raise SignInNotStarted(
                "the answer's state is not the one of the sign-in this browser began:"
                " start again from the login page"
            )
        metadata = await self._metadata()
        self._check_issuer(answer.get("iss"), metadata)
        if "error" in answer:
            reason = answer["error"]
            if answer.get("error_description"):
                reason += f" ({answer['error_description']})"
            raise SignInRefused(f"the provider refused the sign-in: {reason}")
        code = answer.get("code")
        if not code:
            raise SignInNotStarted("the provider's answer holds no code")
        tokens = await self._redeem(metadata, code, started)
        return await self._signed_in(tokens, started)

    def _check_issuer(self, iss: str | None, metadata: dict[str, Any]) -> None:
        """RFC 9207: an answer that names its issuer must name ours; a provider that says
        it always names it must have."""
        if iss is None:
            if metadata.get("authorization_response_iss_parameter_supported") is True:
                raise SignInNotStarted("the provider's answer does not name its issuer")
            return
        if iss != self._verifier.issuer:
            raise SignInNotStarted(
                f"the answer comes from another issuer ({iss!r}) than the hub's provider"
            )

    async def _redeem(
        self, metadata: dict[str, Any], code: str, started: Pending
    ) -> dict[str, Any]:
        """The token endpoint's answer to the code and its verifier."""
        endpoint = _endpoint(metadata, "token_endpoint")
        body = prepare_token_request(
            "authorization_code",
            redirect_uri=started.redirect_uri,
            code=code,
            code_verifier=started.code_verifier,
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        client = ClientAuth(self.client_id, self._secret, self._client_auth(metadata))
        url, headers, body = client.prepare("POST", endpoint, headers, body)
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S) as http:
                reply = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("token endpoint %s unreachable: %s: %s", endpoint, type(exc).__name__, exc)
            raise SignInUnavailable(
                "the city's sign-in provider cannot be reached; retry later"
            ) from None
        try:
            document = reply.json()
        except ValueError:
            document = None
        if reply.status_code >= 500 or not isinstance(document, dict):
            log.warning("token endpoint %s answered %d", endpoint, reply.status_code)
            raise SignInUnavailable(
                f"the city's sign-in provider answered {reply.status_code}; retry later"
            )
        if reply.status_code != 200 or "error" in document:
            error = str(document.get("error", reply.status_code))
            if document.get("error_description"):
                error += f" ({document['error_description']})"
            raise SignInRefused(f"the provider refused the code: {error}")
        return document

    async def _signed_in(self, tokens: dict[str, Any], started: Pending) -> SignedIn:
        access, id_token = tokens.get("access_token"), tokens.get("id_token")
        if not isinstance(access, str) or not isinstance(id_token, str):
            raise SignInUnavailable(
                "the provider's token answer lacks an ID token or an access token"
                f" (is 'openid' among the scopes asked, {self.scopes!r}?)"
            )
        subject = None
        try:
            claims = await self._verifier.id_token_claims(
                id_token, client_id=self.client_id, nonce=started.nonce, access_token=access
            )
            subject = str(claims["sub"])
            principal = await self._verifier.verify(access)
        except OidcError as exc:
            refusal = SignInRefused if exc.status_code < 500 else SignInUnavailable
            raise refusal(exc.detail, subject) from None
        if principal.subject != subject:
            raise SignInRefused(
                f"the access token names {principal.subject!r}, the ID token {subject!r}",
                subject,
            )
        expires_in = tokens.get("expires_in")
        return SignedIn(
            principal,
            access,
            expires_in if isinstance(expires_in, int) and expires_in > 0 else None,
            started.return_to,
        )

    def _client_auth(self, metadata: dict[str, Any]) -> str:
        """How the hub authenticates at the token endpoint: ``none`` for a public client
        (whatever discovery lists: Keycloak omits it but takes it), the configured method,
        or the first the provider supports of basic and post."""
        if self._secret is None:
            return "none"
        if self._auth_method is not None:
            return self._auth_method
        supported = metadata.get("token_endpoint_auth_methods_supported", DEFAULT_AUTH_METHODS)
        for method in ("client_secret_basic", "client_secret_post"):
            if method in supported:
                return method
        raise SignInUnavailable(
            "the provider's token endpoint accepts neither client_secret_basic nor"
            f" client_secret_post (it lists {supported}): the hub cannot send its secret"
        )

    async def _metadata(self) -> dict[str, Any]:
        try:
            return await self._verifier.provider_metadata()
        except OidcError as exc:
            raise SignInUnavailable(exc.detail) from None

    def _seal(self, pending: Pending) -> str:
        now = datetime.now(UTC)
        claims = {
            "aud": PENDING_AUDIENCE,
            "iat": now,
            "exp": now + timedelta(seconds=PENDING_TTL_S),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_verifier": pending.code_verifier,
            "redirect_uri": pending.redirect_uri,
            "return_to": pending.return_to,
        }
        return jwt.encode(claims, self._key, "EdDSA", headers={"typ": PENDING_TYPE})

    def _open(self, sealed: str | None) -> Pending:
        if not sealed:
            raise SignInNotStarted(
                "no sign-in was begun in this browser (or it took more than"
                f" {PENDING_TTL_S // 60} minutes): start again from the login page"
            )
        try:
            if jwt.get_unverified_header(sealed).get("typ") != PENDING_TYPE:
                raise jwt.InvalidTokenError("not a pending sign-in")
            claims = jwt.decode(
                sealed,
                self._key.public_key(),
                algorithms=["EdDSA"],
                audience=PENDING_AUDIENCE,
                options={"require": ["exp", "iat", "aud"]},
            )
            return Pending(
                state=str(claims["state"]),
                nonce=str(claims["nonce"]),
                code_verifier=str(claims["code_verifier"]),
                redirect_uri=str(claims["redirect_uri"]),
                return_to=str(claims["return_to"]),
            )
        except jwt.ExpiredSignatureError:
            raise SignInNotStarted(
                f"the sign-in took more than {PENDING_TTL_S // 60} minutes: start again"
            ) from None
        except (jwt.PyJWTError, KeyError):
            raise SignInNotStarted(
                "the sign-in this browser began cannot be read: start again from the login page"
            ) from None


def _endpoint(metadata: dict[str, Any], name: str) -> str:
    url = metadata.get(name)
    if not isinstance(url, str) or not url:
        raise SignInUnavailable(f"the provider's discovery document has no {name}")
    return url


def browser_sign_in_from(
    settings: AuthSettings, verifier: OidcVerifier | None, key: Ed25519PrivateKey
) -> BrowserSignIn | None:
    """The browser sign-in of the configured provider, or None where browsers sign in
    with local accounts only (no provider, or no client id for the hub)."""
    if verifier is None or not settings.oidc_client_id:
        return None
    return BrowserSignIn(settings, verifier, key)
