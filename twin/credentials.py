"""Per-device and service-account MQTT passwords, stored only as Mosquitto hashes.

A password is random (``secrets``), shown once to whoever issued it, and kept as the
PBKDF2-SHA512 hash Mosquitto 2.0 reads from its password file::

    $7$<iterations>$<base64 salt, 12 bytes>$<base64 PBKDF2-HMAC-SHA512 digest, 64 bytes>

(standard base64 with padding; Mosquitto 2.0 drops an entry whose salt is not exactly 12
bytes or whose digest is not 64). No library writes this format, hence this module; the
key derivation itself is :func:`hashlib.pbkdf2_hmac`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import psycopg

from storage import credentials as store

HASH_TYPE = "7"
SALT_BYTES = 12
DIGEST_BYTES = 64
# The passwords carry 192 random bits, so stretching adds nothing against guessing;
# the count stays low because Mosquitto derives the key again on every CONNECT.
HASH_ITERATIONS = 1000
PASSWORD_BYTES = 24
SERVICE_USERNAME_PREFIX = "smartcity-"


@dataclass(frozen=True)
class IssuedCredentials:
    """A user name and the password just issued for it (never stored, never logged)."""

    username: str
    password: str = field(repr=False)


def new_password() -> str:
    """A random URL-safe password (192 bits) that needs no quoting in an ``mqtt://`` URL."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(
    password: str, *, iterations: int = HASH_ITERATIONS, salt: bytes | None = None
) -> str:
    """The Mosquitto 2.0 ``$7$`` hash of ``password`` with a fresh (or given) 12-byte salt."""
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise ValueError(f"Mosquitto needs a {SALT_BYTES}-byte salt, got {len(salt)}")
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"${HASH_TYPE}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches a ``$7$`` hash (constant-time comparison)."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != HASH_TYPE or not parts[2].isdigit():
        return False
    iterations = int(parts[2])
    if iterations < 1:
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return len(salt) == SALT_BYTES and hmac.compare_digest(digest, expected)


def service_username(service: str) -> str:
    """The broker user name of a service account (``ingest`` -> ``smartcity-ingest``).

    The hub's processes connect with it to the broker's hub listener, each with a client
    id of its own; it goes with its password into ``SMARTCITY_MQTT_URL``.
    """
    return SERVICE_USERNAME_PREFIX + store.check_mqtt_name(service, "service account name")


def issue_device_credentials(
    conn: psycopg.Connection, device_id: str, *, rotate: bool = False
) -> IssuedCredentials:
    """Issue a password for a registered device; its user name is the device id.

    Without ``rotate`` a device that already has credentials is refused; with it the old
    password stops working once the broker files are regenerated and reloaded.
    """
    store.check_mqtt_name(device_id)
    password = new_password()
    stored = store.StoredCredential(device_id, hash_password(password), device_id=device_id)
    store.save(conn, stored, rotate=rotate)
    return IssuedCredentials(device_id, password)


def issue_service_credentials(
    conn: psycopg.Connection, service: str, *, rotate: bool = False
) -> IssuedCredentials:
    """Issue a password for a service account such as the ingestion worker (``ingest``)."""
    username = service_username(service)
    password = new_password()
    stored = store.StoredCredential(username, hash_password(password), service=service)
    store.save(conn, stored, rotate=rotate)
    return IssuedCredentials(username, password)
