"""The query parameters of ``GET /ngsi-ld/v1/entities``, checked up front: a parameter
NGSI-LD does not accept is :class:`BadRequestData` naming its remedy."""

from __future__ import annotations

from dataclasses import dataclass

from fiware.errors import BadRequestData

DEFAULT_LIMIT = 20
"""Entities per page when ``limit`` is not given (Orion-LD's and Scorpio's default)."""
MAX_LIMIT = 1000
"""The most a page holds (the brokers' maximum): a larger ``limit`` is refused."""
OPTIONS = frozenset({"keyValues", "simplified", "normalized", "count"})
"""``options`` values understood: ``simplified`` is NGSI-LD 1.8's name for key-values,
``count`` the older spelling of ``count=true``."""


@dataclass(frozen=True)
class EntityQuery:
    """A checked query: the types and ids asked for, the page, the form."""

    types: tuple[str, ...]
    ids: frozenset[str] | None
    limit: int
    offset: int
    key_values: bool
    count: bool


def _names(raw: str | None, what: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    names = tuple(n.strip() for n in raw.split(","))
    if any(not n for n in names):
        raise BadRequestData(f"{what} holds an empty name: give a comma-separated list")
    return names


def _integer(raw: str | None, what: str, default: int, low: int, high: int | None) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestData(f"{what} must be an integer, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f"at least {low}"
        raise BadRequestData(f"{what} must be {bound}, not {value}")
    return value


def options_asked(options: str | None) -> tuple[bool, bool]:
    """Whether ``options`` asks for key-values, and for the count."""
    chosen = set(_names(options, "options"))
    unknown = chosen - OPTIONS
    if unknown:
        raise BadRequestData(
            f"unknown options {sorted(unknown)}: use keyValues (or simplified) or normalized"
        )
    key_values = bool(chosen & {"keyValues", "simplified"})
    if key_values and "normalized" in chosen:
        raise BadRequestData("options asks for both keyValues and normalized: choose one")
    return key_values, "count" in chosen


def entity_query(
    type_: str | None,
    id_: str | None,
    limit: str | None,
    offset: str | None,
    options: str | None,
    count: str | None,
) -> EntityQuery:
    """Check the raw parameters of an entity query.

    >>> entity_query("OffStreetParking", None, "5", None, "keyValues", None).limit
    5
    """
    types = _names(type_, "type")
    if not types:
        raise BadRequestData(
            "type is required: ask for an entity type, e.g. ?type=OffStreetParking"
        )
    ids = _names(id_, "id")
    key_values, counted = options_asked(options)
    if count not in (None, "true", "false"):
        raise BadRequestData(f"count must be true or false, not {count!r}")
    counted = counted or count == "true"
    size = _integer(limit, "limit", DEFAULT_LIMIT, 0, MAX_LIMIT)
    if size == 0 and not counted:
        raise BadRequestData("limit=0 asks for no entities: add count=true to get their number")
    return EntityQuery(
        types=types,
        ids=frozenset(ids) if ids else None,
        limit=size,
        offset=_integer(offset, "offset", 0, 0, None),
        key_values=key_values,
        count=counted,
    )
