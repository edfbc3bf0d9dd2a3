"""Errors of the alert engine, with the HTTP status the API maps them to."""


class AlertError(Exception):
    """Base class of alert errors."""

    status_code = 400
    title = "Alert error"


class AlertNotFound(AlertError):
    """No alert of the domain has this id."""

    status_code = 404
    title = "Not found"


class AlertConflict(AlertError):
    """The alert is not in a state that allows the operation; the message says why."""

    status_code = 409
    title = "Conflict"
