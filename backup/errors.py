"""Why a backup or a restore did not happen; each message names the remedy."""


class BackupError(Exception):
    """Base class of backup and restore failures a user can act on."""


class ToolMissing(BackupError):
    """No ``pg_dump``/``pg_restore`` that can serve the server's version was found."""


class ToolFailed(BackupError):
    """``pg_dump`` or ``pg_restore`` exited with an error (its last lines say which)."""


class RestoreRefused(BackupError):
    """The backup is incomplete or altered, or the target is not empty: nothing was
    restored."""
