"""What an audit row holds, and the hash that binds it to the row before.

A row's hash is SHA-256 over a canonical serialisation of all its fields: JSON with
sorted keys, no spaces, UTF-8, the time as RFC 3339 in UTC with microseconds, and the
previous row's hash among the fields (:data:`GENESIS` for the first row). Ids are dense
(1, 2, 3, ...). So a changed field breaks the row's own hash, a removed row leaves a gap
in the ids and breaks the next row's link, and a row changed *with* its hash recomputed
breaks the next row's link.

The hash is not keyed: it shows that rows were changed or removed after they were
written, not who may append. Appending is what the database grants decide
(``docs/audit.md``); the rows at the end of the chain are guarded by keeping its head
(:func:`audit.store.verify` reports it) somewhere else, with the backups.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Literal

GENESIS = "0" * 64
"""The link of the first row: there is no row before it."""

Action = Literal["write", "sign-in-refused"]

# Bounds on text a caller controls (a subject tried, the names of a body's fields): a
# hostile request must not make the log's rows arbitrarily large.
_TEXT_LIMITS = {"subject": 200, "client": 200, "route": 300, "summary": 1000}
_TARGET_VALUE_LIMIT = 200


def _clean(text: str, limit: int) -> str:
    """``text`` without NUL (PostgreSQL text cannot hold it), at most ``limit`` characters."""
    text = text.replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Entry:
    """What happened, as the API saw it: who (subject, roles, how they signed in, the
    OAuth client or key id), what (HTTP method, route template, its path parameters,
    the status answered, a summary of the change), from where (the peer's address).

    Text a caller controls is stored without NUL characters and cut to a bounded length.
    """

    action: Action
    http_method: str
    route: str
    outcome: int
    subject: str | None = None
    roles: tuple[str, ...] = ()
    auth_method: str | None = None
    client: str | None = None
    remote_addr: str | None = None
    target: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    def __post_init__(self) -> None:
        for name, limit in _TEXT_LIMITS.items():
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _clean(value, limit))
        object.__setattr__(self, "roles", tuple(sorted(self.roles)))
        object.__setattr__(
            self,
            "target",
            {
                _clean(str(k), _TARGET_VALUE_LIMIT): _clean(str(v), _TARGET_VALUE_LIMIT)
                for k, v in self.target.items()
            },
        )


@dataclass(frozen=True)
class Row:
    """An entry in its place in the chain."""

    audit_id: int
    at: datetime
    entry: Entry
    prev_hash: str
    hash: str


def canonical(audit_id: int, at: datetime, entry: Entry, prev_hash: str) -> bytes:
    """The bytes a row's hash is taken over."""
    document: dict[str, object] = {f.name: getattr(entry, f.name) for f in fields(entry)}
    document["roles"] = list(entry.roles)
    document |= {
        "audit_id": audit_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(audit_id: int, at: datetime, entry: Entry, prev_hash: str) -> str:
    """The hex SHA-256 that a row with these fields carries."""
    return hashlib.sha256(canonical(audit_id, at, entry, prev_hash)).hexdigest()


def sign_in_refused(
    subject: str | None,
    reason: str,
    remote_addr: str | None,
    http_method: str,
    route: str,
    outcome: int = 401,
) -> Entry:
    """The entry for a refused sign-in: the subject tried (None when the credentials
    named none, e.g. a malformed token), why it was refused, where it came from and the
    request it came with."""
    return Entry(
        action="sign-in-refused",
        http_method=http_method,
        route=route,
        outcome=outcome,
        subject=subject,
        remote_addr=remote_addr,
        summary=reason,
    )
