"""The OpenAPI document declares the problem answers (RFC 9457) routes really give.

FastAPI declares a 422 with its own error model on every operation that has
parameters or a body; this API answers a request it cannot validate with a 400 problem
(``api/errors.py``), so the document says that instead. A route declares its other
problem answers with :func:`problems`: 404 where it addresses something that may not
exist, 409 where the state of a resource can refuse it, 503 where it needs the database,
which can be unreachable.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from api.errors import PROBLEM
from api.openapi30 import document_30

_SCHEMA = "Problem"
_REF = {"$ref": f"#/components/schemas/{_SCHEMA}"}
_MEANINGS = {
    400: "The request is not valid: the problem's detail says which parameter and why",
    401: "Sign-in required, or the credentials sent are not valid",
    403: "The caller lacks the role required",
    404: "What the request addresses does not exist",
    409: "The resource's state does not allow this",
    422: "The request is valid but cannot be answered: the problem's detail says why",
    429: "Over the caller's budget of heavy requests: retry after Retry-After seconds",
    503: "The database cannot be reached; retry shortly",
}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


class Problem(BaseModel):
    """Problem details (RFC 9457), the body of every error answer."""

    type: str
    title: str
    status: int
    detail: str
    instance: str


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the problem answers a route gives, by status."""
    return {
        status: {"description": _MEANINGS[status], "content": {PROBLEM: {"schema": _REF}}}
        for status in statuses
    }


def _declare_problems(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[_SCHEMA] = Problem.model_json_schema()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses and "HTTPValidationError" in str(responses["422"]):
                del responses["422"]
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("400", problems(400)[400])
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)


def install(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document declare its problem answers, in OpenAPI 3.0."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's, cached until the routes change
        if _SCHEMA not in document.get("components", {}).get("schemas", {}):
            _declare_problems(document)
            document_30(document)  # what OGC API's oas30 class asks for
        return document

    app.openapi = openapi  # type: ignore[method-assign]
