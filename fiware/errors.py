"""NGSI-LD's errors (ETSI GS CIM 009, 6.3.2): problem details whose ``type`` is the
error's URI, each with the HTTP status the API answers it with."""

from __future__ import annotations

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


class NgsiLdError(Exception):
    """Base class of NGSI-LD errors; the message is written for the user."""

    status_code = 400
    title = "Bad request data"
    problem_type = ERRORS + "BadRequestData"


class BadRequestData(NgsiLdError):
    """A query parameter NGSI-LD does not accept (a missing ``type``, a limit out of
    range, an unknown option); the message says which and how to fix it."""


class InvalidRequest(NgsiLdError):
    """An entity id that is not a URI."""

    title = "Invalid request"
    problem_type = ERRORS + "InvalidRequest"


class ResourceNotFound(NgsiLdError):
    """No entity has this id (or its type is not served)."""

    status_code = 404
    title = "Resource not found"
    problem_type = ERRORS + "ResourceNotFound"
