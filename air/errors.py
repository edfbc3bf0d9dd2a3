"""Errors of air quality, each with the HTTP status and title the API answers it with."""


class AirError(Exception):
    """Base class of air-quality errors; the message is written for the user."""

    status_code = 400
    title = "Invalid air-quality request"


class StationNotFound(AirError):
    """No air-quality station has this id."""

    status_code = 404
    title = "Not found"


class UnknownBandTable(AirError):
    """No index band table has this version; the message lists those there are."""

    status_code = 400
    title = "Invalid parameter"


class InvalidPeriod(AirError):
    """A period that cannot be answered (ends before it begins, too long, a year outside
    the range kept); the message says which and why."""

    status_code = 400
    title = "Invalid parameter"


class UnsuitableBandTable(AirError):
    """A band table that cannot judge what was asked (running means for spot samples);
    the message names the table to use."""

    status_code = 400
    title = "Invalid parameter"
