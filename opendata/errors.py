"""Errors of the open-data catalogue and downloads, with their HTTP status."""

from __future__ import annotations


class OpenDataError(Exception):
    """Base class of open-data errors; the message is written for the user."""

    status_code = 400
    title = "Open data error"


class DatasetNotFound(OpenDataError):
    """No public dataset has this id (an unpublished one is not told apart)."""

    status_code = 404
    title = "Dataset not found"


class NeverPublic(OpenDataError):
    """The dataset holds what the hub never publishes (personal data, secrets)."""

    status_code = 409
    title = "Not publishable"


class BadDownload(OpenDataError):
    """A download's parameters are well-formed but not acceptable; the message says why."""

    status_code = 400
    title = "Invalid parameter"
