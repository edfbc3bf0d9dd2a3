"""A real OpenID Connect provider for the tests: panva's certified ``oidc-provider``.

``OidcTestProvider`` runs ``tests/oidc/provider.mjs`` on a loopback port with RSA keys made
here (so tests can also sign tokens with the provider's own key, for claims a provider never
issues on demand: an ``exp`` in the past, no ``sub``), gets JWT access tokens from it by the
client-credentials grant over HTTP, registers clients of the authorization-code flow
(RFC 7591; a browser signing in as one of :data:`ACCOUNTS` gets its roles), rotates its keys
(a restart with a new key on the same port: the issuer holds the port), and counts the JWKS
fetches in the provider's own log.
Needs Node.js and npm; the pinned npm packages are installed with ``npm ci`` on first use.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests import node_server

SCRIPT = Path(__file__).resolve().parent / "oidc" / "provider.mjs"
HUB = "https://hub.turnu-magurele.test/api"
"""The hub's audience: the resource indicator its tokens are asked for."""
OTHER_API = "https://parking-vendor.test/api"
"""Another API of the same provider: its tokens must not open the hub."""

CLIENTS: dict[str, dict[str, Any]] = {
    "flood-desk": {"realm_access": {"roles": ["emergency", "viewer"]}},
    "planning-office": {"realm_access": {"roles": ["planner", "offline_access"]}},
    # Entra ID puts app roles in a top-level `roles` claim: a client carrying both shapes,
    # with different roles, shows which claim the settings make the hub read.
    "entra-app": {"realm_access": {"roles": ["viewer"]}, "roles": ["admin"]},
    "no-roles": {},
}
"""Client id → the extra claims of its access tokens."""
ACCOUNTS: dict[str, dict[str, Any]] = {
    "ana-duty": {"realm_access": {"roles": ["emergency", "viewer"]}},
    "paul-planner": {"realm_access": {"roles": ["planner"]}},
}
"""Account (what is typed in the provider's login form) → the extra claims of the access
tokens of its browser sign-ins. Any other name signs in too, without roles."""
SECRET = "client-secret-of-the-tests-0123456789"
TOKEN_TIMEOUT_S = 10.0


def new_key() -> tuple[rsa.RSAPrivateKey, dict[str, Any]]:
    """A fresh RS256 key and its private JWK with a random ``kid``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    jwk.update(kid=uuid.uuid4().hex[:12], alg="RS256", use="sig")
    return key, jwk


class OidcTestProvider:
    """The provider process, its current signing key, and the way to get its tokens."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self.key, self._jwk = new_key()
        self.port = 0
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self._log_path = workdir / "provider.log"

    @property
    def issuer(self) -> str:
        """The issuer URL, as the provider's discovery document names it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def kid(self) -> str:
        """The ``kid`` of the key the provider signs with now."""
        return str(self._jwk["kid"])

    def __enter__(self) -> OidcTestProvider:
        self._start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def rotate(self) -> None:
        """Replace the signing key: restart the provider on the same port with a new JWKS."""
        self._stop()
        self.key, self._jwk = new_key()
        self._start()

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """An outage: the provider is stopped inside the block, back with the same key after."""
        self._stop()
        try:
            yield
        finally:
            self._start()

    def token(self, client_id: str, resource: str = HUB) -> str:
        """An access token for ``client_id`` by the client-credentials grant."""
        answer = httpx.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": SECRET,
                "resource": resource,
                "scope": "hub",
            },
            timeout=TOKEN_TIMEOUT_S,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def register(
        self, redirect_uri: str, auth_method: str = "client_secret_basic"
    ) -> tuple[str, str | None]:
        """A new client of the authorization-code flow (dynamic registration, RFC 7591):
        its id and, unless ``auth_method`` is ``none`` (a public client), its secret."""
        answer = httpx.post(
            f"{self.issuer}/reg",
            json={
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": auth_method,
            },
            timeout=TOKEN_TIMEOUT_S,
        )
        answer.raise_for_status()
        client = answer.json()
        return str(client["client_id"]), client.get("client_secret")

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        """``claims`` signed with the provider's current key, as its own tokens are."""
        headers = {"typ": "at+jwt", "kid": self.kid, **header}
        return jwt.encode(claims, self.key, algorithm="RS256", headers=headers)

    def requests(self, path: str) -> int:
        """How many GET requests for ``path`` the provider served since it last started."""
        return self.log().splitlines().count(f"REQUEST GET {path}")

    def jwks_fetches(self) -> int:
        """How many times the JWKS was fetched since the provider last started."""
        return self.requests("/jwks")

    def log(self) -> str:
        """The provider's log (stderr) since it last started."""
        # Read through a file description of its own: seeking the one the provider writes
        # through would move the provider's write position too.
        return self._log_path.read_text()

    def _start(self) -> None:
        config = self._workdir / "provider.json"
        config.write_text(
            json.dumps(
                {
                    "jwks": {"keys": [self._jwk]},
                    "resources": [HUB, OTHER_API],
                    "accounts": ACCOUNTS,
                    "clients": [
                        {"client_id": c, "client_secret": SECRET, "claims": claims}
                        for c, claims in CLIENTS.items()
                    ],
                }
            )
        )
        self._log = self._log_path.open("w+")
        try:
            self._process, self.port = node_server.start(
                SCRIPT, [str(self.port), str(config)], self._log
            )
        except BaseException:
            self._stop()
            raise

    def _stop(self) -> None:
        if self._process is not None:
            node_server.stop(self._process)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
