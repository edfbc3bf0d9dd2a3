"""The roles of the hub and the signed-in caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    """What a signed-in user is trusted with."""

    VIEWER = "viewer"
    PLANNER = "planner"
    PARKING_OPERATOR = "parking_operator"
    EMERGENCY = "emergency"
    ADMIN = "admin"


Method = Literal["token", "api-key", "oidc", "session"]
"""How the caller proved who they are: the hub's own access token (local account), an
API key, the OpenID provider's access token, or a browser session."""


@dataclass(frozen=True)
class Principal:
    """A signed-in caller: ``subject`` is the account name (local), the key's name (API
    key) or the provider's ``sub``; ``client`` the OAuth client or key id, if any."""

    subject: str
    roles: frozenset[Role]
    method: Method
    client: str | None = None

    @classmethod
    def of(
        cls, subject: str, roles: Iterable[str], method: Method, client: str | None = None
    ) -> Principal:
        """A principal from role names as a token carries them; names that are not roles
        of the hub (a provider's ``offline_access``, say) are left out."""
        known = {r.value for r in Role}
        return cls(subject, frozenset(Role(r) for r in roles if r in known), method, client)

    def has_any(self, roles: Iterable[Role]) -> bool:
        """Whether the caller holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)
