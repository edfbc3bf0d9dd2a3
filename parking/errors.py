"""Errors of parking, each with the HTTP status and title the API answers it with."""


class ParkingError(Exception):
    """Base class of parking errors; the message is written for the user."""

    status_code = 400
    title = "Invalid parking request"


class LotNotFound(ParkingError):
    """No parking lot has this id."""

    status_code = 404
    title = "Not found"


class BayNotFound(ParkingError):
    """No parking bay has this id."""

    status_code = 404
    title = "Not found"


class InvalidAction(ParkingError):
    """An operator action with a value that cannot be right (a capacity of 0, a count
    below 0, a closure that ended before it began); the message says which and why."""

    status_code = 400
    title = "Invalid parameter"


class ActionConflict(ParkingError):
    """The lot's state does not allow the action (a counter correction on a lot without
    a counter); the message says why."""

    status_code = 409
    title = "Conflict"
