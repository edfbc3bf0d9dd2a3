"""Sign-in: the city's OpenID Connect provider, or the hub's own accounts and keys."""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from settings.base import ENV


class AuthSettings(BaseSettings):
    """Who may call the API. With ``oidc_issuer`` unset, the embedded default: local
    accounts and API keys, and access tokens signed by a key kept in the data directory."""

    model_config = ENV

    oidc_issuer: str | None = Field(
        default=None,
        description="the OpenID provider's issuer URL (Keycloak realm, Entra ID tenant);"
        " its discovery document gives the keys",
    )
    oidc_audience: str | None = Field(
        default=None, description="the audience access tokens must name (the hub's client id)"
    )
    oidc_roles_claim: str = Field(
        default="realm_access.roles",
        description="the claim holding roles, dotted for nested claims: `realm_access.roles`"
        " for Keycloak, `roles` for Entra ID",
    )
    oidc_client_id: str | None = Field(
        default=None,
        description="the hub's client id at the provider: browsers then sign in with the"
        " provider (authorization-code flow with PKCE)",
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description="the client's secret (a confidential client); unset: a public client,"
        " PKCE alone",
    )
    oidc_token_auth_method: Literal["client_secret_basic", "client_secret_post"] | None = Field(
        default=None,
        description="how the hub sends its secret to the token endpoint; unset:"
        " `client_secret_basic` where the discovery document allows it, else"
        " `client_secret_post`",
    )
    oidc_scopes: str = Field(
        default="openid",
        description="the scopes a browser sign-in asks for, space-separated; `openid` is"
        " required (Entra ID: add the hub's API scope, `api://<app id>/access`)",
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="where the provider sends browsers back; unset: the public URL (or the"
        " address the browser used) + `/auth/oidc/callback`. Register it at the provider",
    )
    local_login: bool = Field(
        default=True,
        description="the login page signs in the hub's own accounts; false (with"
        " `oidc_client_id`): `/auth/login` sends browsers straight to the provider",
    )
    token_ttl_s: int = Field(
        default=3600, ge=60, le=86_400, description="life of the hub's own access tokens"
    )
    public_url: str | None = Field(
        default=None,
        description="the hub's public base URL (`https://hub.example.org`): links in answers"
        " are built from it, never from a caller's Host header",
    )

    @field_validator("public_url")
    @classmethod
    def _origin_only(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ValueError(f"must be http(s)://host[:port] with no path, got {url!r}")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("oidc_scopes")
    @classmethod
    def _openid_asked(cls, scopes: str) -> str:
        if "openid" not in scopes.split():
            raise ValueError(f"must include `openid` (an ID token names the user), got {scopes!r}")
        return scopes

    @model_validator(mode="after")
    def _browser_sign_in(self) -> Self:
        if self.oidc_client_id and not self.oidc_issuer:
            raise ValueError("SMARTCITY_OIDC_CLIENT_ID needs SMARTCITY_OIDC_ISSUER: the provider")
        if not self.local_login and not self.oidc_client_id:
            raise ValueError(
                "SMARTCITY_LOCAL_LOGIN=false needs SMARTCITY_OIDC_CLIENT_ID: without the"
                " provider's sign-in, no browser could sign in"
            )
        return self
