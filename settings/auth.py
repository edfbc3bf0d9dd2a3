"""Sign-in: the city's OpenID Connect provider, or the hub's own accounts and keys."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
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

    @field_validator("public_url")
    @classmethod
    def _origin_only(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ValueError(f"must be http(s)://host[:port] with no path, got {url!r}")
        return f"{parts.scheme}://{parts.netloc}"
