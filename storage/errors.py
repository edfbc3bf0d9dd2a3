"""Typed storage errors, mapped to HTTP problems once at the API edge."""


class StorageError(Exception):
    """Base class of storage failures that a user can act on."""

    status_code = 503
    title = "Storage unavailable"


class MigrationError(StorageError):
    """A schema migration could not be applied."""

    title = "Database migration failed"
