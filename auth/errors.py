"""Refusals of sign-in and of access: 401 with a ``WWW-Authenticate`` challenge (RFC 6750)
when the caller must (re)authenticate, 403 when who they are is not enough."""

from __future__ import annotations


class AuthError(Exception):
    """The caller is not (validly) signed in."""

    status_code = 401
    title = "Sign-in required"
    public_message = True
    challenge = 'Bearer realm="smartcity"'

    @property
    def headers(self) -> dict[str, str]:
        """The challenge telling a client how to authenticate."""
        return {"WWW-Authenticate": self.challenge}


class InvalidCredentials(AuthError):
    """A token, key or session was presented and is not valid (expired, revoked, forged)."""

    title = "Invalid credentials"
    challenge = 'Bearer realm="smartcity", error="invalid_token"'


class Forbidden(AuthError):
    """Signed in, but without a role the route requires."""

    status_code = 403
    title = "Forbidden"
    challenge = 'Bearer realm="smartcity", error="insufficient_scope"'


class AccountError(ValueError):
    """A local account or API key cannot be made or changed as asked."""

    status_code = 400
    title = "Invalid account"
    public_message = True


class UnknownAccount(AccountError):
    """No account (or API key) by that name or id."""

    status_code = 404
    title = "Unknown account"
