"""The Smart Data Models' published JSON Schemas (``../shared/conformance/fiware``, or
``SMARTCITY_CONFORMANCE_DIR``), every ``$ref`` resolved from the local files: a schema
that would fetch anything fails the test instead."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

FOLDER = (
    Path(
        os.environ.get(
            "SMARTCITY_CONFORMANCE_DIR",
            Path(__file__).resolve().parents[2].parent / "shared" / "conformance",
        )
    )
    / "fiware"
)


ALIASES = {
    # AirQualityObserved names the Environment schema by its GitHub address, not its $id
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/"
    "Environment-schema.json": "Environment-schema.json",
}
"""Addresses the models' $refs use for a local file other than its ``$id``."""


class Fetched(AssertionError):
    """A schema asked for a resource that is not among the local files."""


def _refuse(uri: str) -> Any:
    raise Fetched(f"{uri} would be fetched: the schemas must resolve from {FOLDER}")


def _load(name: str) -> dict[str, Any]:
    if not FOLDER.is_dir():
        pytest.skip(
            f"no conformance files at {FOLDER}: set SMARTCITY_CONFORMANCE_DIR to the folder"
            " holding fiware/"
        )
    found: dict[str, Any] = json.loads((FOLDER / name).read_text(encoding="utf-8"))
    return found


@cache
def _registry() -> jsonschema_rs.Registry:
    # every local schema under its own $id: the models' $refs name those
    resources = []
    for path in sorted(FOLDER.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if "$id" in document and not path.name.endswith(".example.json"):
            resources.append((document["$id"], document))
    for uri, name in ALIASES.items():
        document = json.loads((FOLDER / name).read_text(encoding="utf-8"))
        resources.append((uri, document | {"$id": uri}))  # its own $id would win
    return jsonschema_rs.Registry(resources, retriever=_refuse)


def validator(entity_type: str) -> jsonschema_rs.Validator:
    """A validator of ``entity_type``'s key-values form, formats checked."""
    schema = _load(f"{entity_type}.schema.json")
    return jsonschema_rs.Draft202012Validator(
        schema, registry=_registry(), retriever=_refuse, validate_formats=True
    )


def errors(entity: dict[str, Any]) -> list[str]:
    """What the entity's schema finds wrong in its key-values form (empty: valid)."""
    found = validator(entity["type"]).iter_errors(entity)
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in found]
