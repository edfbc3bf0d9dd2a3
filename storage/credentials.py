"""The MQTT credentials table: one Mosquitto password hash per device or service account.

User names end up in Mosquitto's password file (``name:hash``) and ACL file
(``user name`` followed by topic lines), so a name that would break either syntax is
refused here, before it is stored or exported.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from storage.errors import StorageError

# '+' and '#' are topic wildcards, '/' a topic level separator, ':' the password file's
# field separator; whitespace and control characters end or split a line.
_FORBIDDEN = frozenset("+#/:")


class CredentialError(StorageError):
    """Credentials cannot be issued or exported as asked; the message says why."""

    status_code = 409
    title = "Credentials conflict"


class UnknownDevice(CredentialError):
    """Credentials were asked for a device that is not in the registry."""

    status_code = 404
    title = "Unknown device"


class InvalidMqttName(CredentialError):
    """A device id or account name that Mosquitto's password or ACL files cannot hold."""

    status_code = 422
    title = "Invalid MQTT user name"


@dataclass(frozen=True)
class StoredCredential:
    """One stored hash and whom it belongs to: a registered device or a service account."""

    username: str
    password_hash: str
    device_id: str | None = None
    service: str | None = None


def check_mqtt_name(name: str, what: str = "device id") -> str:
    """Return ``name`` if it can be a Mosquitto user name and topic level; raise otherwise.

    >>> check_mqtt_name("gauge-01")
    'gauge-01'
    """
    bad = sorted({ch for ch in name if ch in _FORBIDDEN or ch.isspace() or not ch.isprintable()})
    if not name or bad:
        reason = "it is empty" if not name else f"it contains {', '.join(map(repr, bad))}"
        raise InvalidMqttName(
            f"{what} {name!r} cannot be used on the MQTT broker: {reason}. Mosquitto user"
            " names and topic levels cannot hold '+', '#', '/', ':', whitespace or control"
            f" characters; choose another {what}."
        )
    return name


def _owner(conn: psycopg.Connection, username: str) -> str | None:
    row = conn.execute(
        "SELECT coalesce('device ' || device_id, 'service account ' || service)"
        " FROM mqtt_credentials WHERE username = %s",
        (username,),
    ).fetchone()
    return None if row is None else str(row[0])


_INSERT = (
    "INSERT INTO mqtt_credentials (username, device_id, service, password_hash)"
    " VALUES (%(username)s, %(device_id)s, %(service)s, %(hash)s)"
)
_ON_CONFLICT_KEEP = " ON CONFLICT DO NOTHING"
# Rotation replaces only the holder's own hash: a name owned by someone else stays theirs.
_ON_CONFLICT_ROTATE = (
    " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,"
    " issued_at = now()"
    " WHERE mqtt_credentials.device_id IS NOT DISTINCT FROM excluded.device_id"
    " AND mqtt_credentials.service IS NOT DISTINCT FROM excluded.service"
)


def save(conn: psycopg.Connection, credential: StoredCredential, *, rotate: bool) -> None:
    """Store a new hash; with ``rotate`` replace the holder's previous one.

    Raises :class:`CredentialError` when the holder already has credentials and
    ``rotate`` is false, or when the user name belongs to someone else, and
    :class:`UnknownDevice` when the device is not registered.
    """
    check_mqtt_name(credential.username, "user name")
    params = {
        "username": credential.username,
        "device_id": credential.device_id,
        "service": credential.service,
        "hash": credential.password_hash,
    }
    with conn.transaction():
        if credential.device_id is not None:
            _require_device(conn, credential.device_id)
        sql = _INSERT + (_ON_CONFLICT_ROTATE if rotate else _ON_CONFLICT_KEEP)
        if conn.execute(sql, params).rowcount == 1:
            return
        owner = _owner(conn, credential.username)
    holder = _holder(credential)
    if owner == holder:
        raise CredentialError(
            f"{holder} already has MQTT credentials; use --rotate to replace them"
        )
    raise CredentialError(f"MQTT user name {credential.username!r} already belongs to {owner}")


def _holder(credential: StoredCredential) -> str:
    if credential.device_id is not None:
        return f"device {credential.device_id}"
    return f"service account {credential.service}"


def _require_device(conn: psycopg.Connection, device_id: str) -> None:
    found = conn.execute("SELECT 1 FROM devices WHERE device_id = %s", (device_id,)).fetchone()
    if found is None:
        raise UnknownDevice(
            f"device {device_id!r} is not registered: import its sensors layer first"
        )


def all_credentials(conn: psycopg.Connection) -> list[StoredCredential]:
    """Every stored hash, ordered by user name (stable files, readable diffs)."""
    rows = conn.execute(
        "SELECT username, password_hash, device_id, service FROM mqtt_credentials ORDER BY username"
    ).fetchall()
    return [StoredCredential(*row) for row in rows]


def device_kinds(conn: psycopg.Connection) -> dict[str, str]:
    """Every registered device id with its kind, ordered by id."""
    rows = conn.execute("SELECT device_id, kind FROM devices ORDER BY device_id").fetchall()
    return {str(device_id): str(kind) for device_id, kind in rows}
