"""Errors of the carbon inventory, each with the HTTP status and title the API answers
it with; the message is written for the user and names its remedy."""


class CarbonError(Exception):
    """Base class of carbon errors."""

    status_code = 400
    title = "Invalid carbon request"


class FactorNotFound(CarbonError):
    """No emission factor applies to a carrier in a year (or no conversion of a unit)."""

    status_code = 422
    title = "No emission factor"


class InvalidFactorTable(CarbonError):
    """A factor file that cannot be read as a factor table; the message says where."""

    status_code = 500
    title = "Invalid emission factor table"
