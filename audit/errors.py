"""Errors of the audit log."""


class AuditError(Exception):
    """Base class of audit log errors a user can act on."""


class AuditLogMissing(AuditError):
    """The database has no audit log yet: its schema predates it."""
