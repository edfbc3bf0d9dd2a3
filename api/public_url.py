"""Links in answers are built from the hub's configured public base URL, never from the
``Host`` a caller sends (a forged Host would otherwise put the caller's address in the
links other users follow, or in cached answers).

With ``SMARTCITY_PUBLIC_URL`` set (``https://hub.example.org``), every request is seen by
the routes as addressed to it: scheme, host and port. Unset, the request's own Host is
used, as a development server on loopback expects.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send


class PublicUrl:
    """Make every request look addressed to ``public_url`` (plain ASGI middleware); the
    URL is checked by the settings (:class:`settings.AuthSettings`)."""

    def __init__(self, app: ASGIApp, public_url: str) -> None:
        self.app = app
        parts = urlsplit(public_url)
        self._scheme = parts.scheme
        self._host = parts.netloc.encode("latin-1")
        self._server = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on as addressed to the public URL."""
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            scope = {
                **scope,
                "headers": [(b"host", self._host), *headers],
                "scheme": self._scheme,
                "server": self._server,
            }
        await self.app(scope, receive, send)
