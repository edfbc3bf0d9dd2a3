"""Who is calling and what they may do: sign-in, roles, the policy of every route.

A caller is a :class:`~auth.principal.Principal` (a subject with roles), made from an
OAuth 2.0 bearer access token of the city's OpenID Connect provider, from the hub's own
access token (``POST /auth/token``, local accounts), from an API key, or from a browser
session. What each route requires is declared once in :mod:`auth.policy`.
"""
