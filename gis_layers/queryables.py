"""What a layer's features can be filtered on: its attributes with their JSON types.

OGC API - Features Part 3 calls them queryables and publishes them as a JSON Schema at
``/collections/{id}/queryables``; the same list decides how a CQL2 filter or a property
filter compares each attribute (``gis_layers.cql2_filter``). Types come from the column
types recorded at import (``layers.attributes``, pandas dtypes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GEOMETRY = "geometry"
"""The name filters use for a feature's geometry."""

JsonType = Literal["string", "number", "integer", "boolean", "date-time"]


@dataclass(frozen=True, slots=True)
class Queryable:
    """One attribute a filter may use, with how its values compare."""

    name: str
    type: JsonType

    def schema(self) -> dict[str, str]:
        """The attribute's JSON Schema."""
        if self.type == "date-time":
            return {"type": "string", "format": "date-time", "title": self.name}
        return {"type": self.type, "title": self.name}


def _json_type(dtype: str) -> JsonType:
    if dtype.startswith(("int", "uint", "Int", "UInt")):
        return "integer"
    if dtype.startswith(("float", "Float")):
        return "number"
    if dtype in ("bool", "boolean"):
        return "boolean"
    if dtype.startswith("datetime64"):
        return "date-time"
    return "string"  # object, string and anything else is compared as its text


def from_attributes(attributes: dict[str, str]) -> dict[str, Queryable]:
    """The queryables of a layer from its ``{column: pandas dtype}`` record."""
    return {name: Queryable(name, _json_type(dtype)) for name, dtype in attributes.items()}


def temporal(queryables: dict[str, Queryable]) -> Queryable | None:
    """The attribute the ``datetime`` parameter filters on: the layer's first date-time."""
    return next((q for q in queryables.values() if q.type == "date-time"), None)


def json_schema(queryables: dict[str, Queryable], schema_id: str, title: str) -> dict[str, object]:
    """The Part 3 queryables document: every attribute plus the geometry."""
    properties: dict[str, object] = {
        GEOMETRY: {"format": "geometry-any", "x-ogc-role": "primary-geometry"}
    }
    for q in queryables.values():
        properties[q.name] = q.schema()
    found = temporal(queryables)
    if found is not None:
        properties[found.name] = {**found.schema(), "x-ogc-role": "primary-instant"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": False,
    }
