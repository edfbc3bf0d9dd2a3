"""Sign-in: the city's OpenID Connect provider, or the hub's own accounts and keys."""

from __future__ import annotations

from pydantic import Field
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
    token_ttl_s: int = Field(
        default=3600, ge=60, le=86_400, description="life of the hub's own access tokens"
    )
    public_url: str | None = Field(
        default=None,
        description="the hub's public base URL (`https://hub.example.org`): links in answers"
        " are built from it, never from a caller's Host header",
    )
