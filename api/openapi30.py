"""The API definition as OpenAPI 3.0, which OGC API - Features' ``oas30`` class requires.

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12): ``anyOf`` with ``{"type": "null"}``
for an optional value, ``const``, a list of ``examples``, numeric ``exclusiveMinimum``,
``prefixItems`` for tuples, ``contentMediaType`` for uploads, an ``itemSchema`` for a
stream of server-sent events. None of them is valid OpenAPI 3.0, and OGC's test suite
(``/conf/oas30``) validates ``service-desc`` against the 3.0 schema. FastAPI's
``openapi_version`` only changes the version string, so this module rewrites those
constructs into their 3.0 equivalents (``nullable``, ``enum``, ``example``, boolean
``exclusiveMinimum``, ``format: binary``). It is written here because the one converter
on PyPI (``openapi-downgrade``) is a young single-author project, and FastAPI emits a
small, known subset of 3.1 that a hundred lines cover; ``tests/api/test_openapi30.py``
validates the result with ``openapi-spec-validator``.
"""

from __future__ import annotations

from typing import Any

VERSION = "3.0.3"
_NULL = {"type": "null"}
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMAS = ("items", "not", "additionalProperties")


def _nullable_union(schema: dict[str, Any], keyword: str) -> None:
    """``anyOf: [X, {type: null}]`` as X with ``nullable: true``."""
    members = schema[keyword]
    if _NULL not in members:
        return
    rest = [m for m in members if m != _NULL]
    del schema[keyword]
    schema["nullable"] = True
    if len(rest) == 1 and "$ref" not in rest[0]:
        for key, value in rest[0].items():
            schema.setdefault(key, value)
    elif rest:  # a $ref takes no siblings in 3.0: wrap it
        schema[keyword if len(rest) > 1 else "allOf"] = rest


def schema_30(schema: Any) -> Any:
    """A JSON Schema 2020-12 ``schema`` (as FastAPI writes it) as an OpenAPI 3.0 Schema
    Object, converted in place and returned."""
    if not isinstance(schema, dict):
        return schema
    for keyword in _SUBSCHEMA_LISTS:
        if keyword in schema:
            schema[keyword] = [schema_30(member) for member in schema[keyword]]
            _nullable_union(schema, keyword)
    if isinstance(schema.get("type"), list):
        types = [t for t in schema["type"] if t != "null"]
        if len(types) < len(schema["type"]):
            schema["nullable"] = True
        if len(types) == 1:
            schema["type"] = types[0]
        else:
            del schema["type"]
            schema["anyOf"] = [{"type": t} for t in types]
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    if isinstance(schema.get("examples"), list):
        examples = schema.pop("examples")
        if examples:
            schema.setdefault("example", examples[0])
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(bound), int | float) and not isinstance(schema[bound], bool):
            schema[limit] = schema.pop(bound)
            schema[bound] = True
    if "prefixItems" in schema:  # a tuple: each item may be any of the members
        members = [schema_30(m) for m in schema.pop("prefixItems")]
        schema.setdefault("items", members[0] if len(members) == 1 else {"anyOf": members})
        schema.setdefault("minItems", len(members))
        schema.setdefault("maxItems", len(members))
    if "contentMediaType" in schema:
        del schema["contentMediaType"]
        schema.setdefault("format", "binary")
    schema.pop("contentEncoding", None)
    schema.pop("$schema", None)
    for keyword in _SUBSCHEMAS:
        if isinstance(schema.get(keyword), dict):
            schema[keyword] = schema_30(schema[keyword])
    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {k: schema_30(v) for k, v in schema["properties"].items()}
    if "$ref" in schema and len(schema) > 1:  # 3.0 ignores a $ref's siblings: keep them
        schema["allOf"] = [{"$ref": schema.pop("$ref")}, *schema.get("allOf", [])]
    return schema


def _walk(node: Any) -> None:
    """Convert every schema found under ``node`` (a part of the document, not a schema)."""
    if isinstance(node, list):
        for member in node:
            _walk(member)
        return
    if not isinstance(node, dict):
        return
    if "itemSchema" in node:  # OpenAPI 3.2's event stream: 3.0 has only its text
        del node["itemSchema"]
        node.setdefault("schema", {"type": "string", "description": "text/event-stream"})
    for key, value in node.items():
        if key == "schema":
            schema_30(value)
        elif key == "schemas" and isinstance(value, dict):
            for schema in value.values():
                schema_30(schema)
        else:
            _walk(value)


def document_30(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's OpenAPI 3.1 ``document`` as OpenAPI 3.0, converted in place."""
    document["openapi"] = VERSION
    for key in ("webhooks", "jsonSchemaDialect"):
        document.pop(key, None)
    info = document.get("info", {})
    info.pop("summary", None)
    info.get("license", {}).pop("identifier", None)
    _walk(document.get("paths", {}))
    _walk(document.get("components", {}))
    return document
