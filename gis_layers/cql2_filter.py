"""CQL2 filters (OGC API - Features Part 3) on the features table, without PostGIS.

The text or JSON encoding is parsed by ``cql2`` (cql2-rs: the grammar of the standard,
operator precedence included) into CQL2-JSON (:mod:`gis_layers.cql2_parse`), which this
module compiles:

- comparisons, ``LIKE``, ``BETWEEN``, ``IN``, ``IS NULL``, ``AND``/``OR``/``NOT`` on
  attributes become SQL over ``properties`` (jsonb), each attribute read as the type
  its queryable declares, so ``area_m2 > 500`` compares numbers and a string literal
  against a number attribute is refused with a reason; temporal literals are UTC
  (``DATE('…')`` is its midnight UTC, a ``TIMESTAMP`` without a zone is UTC), so no
  answer depends on the database server's time zone;
- spatial predicates (``S_INTERSECTS``, ``S_WITHIN``, ``S_CONTAINS``, ``S_DISJOINT``,
  ``S_EQUALS``, ``S_TOUCHES``, ``S_CROSSES``, ``S_OVERLAPS``) cannot run in SQL here: they
  become a bounding-box test for the GiST index (a necessary condition) and are decided
  exactly by shapely on the candidates.

A filter without spatial predicates is exact in SQL (:attr:`CompiledFilter.spatial` is
False). With them, the SQL condition only narrows the candidates, and the property tests
inside the expression are selected as columns so that :meth:`CompiledFilter.matches` can
combine them with the spatial results in the expression's own structure. Logic is SQL's
three-valued logic (a comparison with a null attribute is unknown; ``NOT`` unknown is
unknown; only true matches), computed as min/max/``1 - x`` over 0, 0.5 and 1.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import shapely
from psycopg import sql
from shapely.geometry import shape

from gis_layers.errors import FilterError
from gis_layers.queryables import GEOMETRY, Queryable

Reproject = Callable[[shapely.Geometry], shapely.Geometry]
"""Turns a filter geometry given in the filter's CRS into CRS84."""

_COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MIRROR = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SPATIAL = {
    "s_intersects": shapely.intersects,
    "s_disjoint": shapely.disjoint,
    "s_within": shapely.within,
    "s_contains": shapely.contains,
    "s_equals": shapely.equals,
    "s_touches": shapely.touches,
    "s_crosses": shapely.crosses,
    "s_overlaps": shapely.overlaps,
}
_CONVERSE = {"s_within": "s_contains", "s_contains": "s_within"}
"""``S_WITHIN(literal, geometry)`` is ``S_CONTAINS(geometry, literal)``; the others are
symmetric."""
_TRUE = sql.SQL("TRUE")


@dataclass
class Candidates:
    """What the exact evaluation reads for each candidate feature."""

    columns: np.ndarray
    """One row per feature, one column per property test: 1 true, 0 false, 0.5 unknown."""
    geometries: np.ndarray
    """The features' shapely geometries in CRS84."""


Evaluate = Callable[[Candidates], np.ndarray]


@dataclass
class _Part:
    exact: sql.Composable | None  # None when the part holds a spatial predicate
    necessary: sql.Composable
    evaluate: Evaluate


@dataclass
class CompiledFilter:
    """A filter as SQL over ``features`` plus, for spatial predicates, an exact check."""

    where: sql.Composable
    """A condition on ``features`` rows: exact unless :attr:`spatial`, then necessary."""
    spatial: bool
    columns: list[sql.Composable] = field(default_factory=list)
    """Property tests to select (as 0/0.5/1) for :meth:`matches`, when :attr:`spatial`."""
    _evaluate: Evaluate | None = None

    def matches(self, candidates: Candidates) -> np.ndarray:
        """Which candidates the whole filter holds for (spatial filters only)."""
        assert self._evaluate is not None, "an exact SQL filter needs no evaluation"
        return np.asarray(self._evaluate(candidates)) == 1.0


def compile_filter(
    expression: Any, queryables: dict[str, Queryable], reproject: Reproject
) -> CompiledFilter:
    """Compile a CQL2-JSON expression against a layer's queryables."""
    compiler = _Compiler(queryables, reproject)
    part = compiler.boolean(expression)
    if part.exact is not None:
        return CompiledFilter(part.exact, spatial=False)
    return CompiledFilter(part.necessary, True, compiler.columns, part.evaluate)


def all_of(expressions: list[Any]) -> Any:
    """The CQL2-JSON conjunction of expressions (one stays itself)."""
    return expressions[0] if len(expressions) == 1 else {"op": "and", "args": expressions}


class _Compiler:
    def __init__(self, queryables: dict[str, Queryable], reproject: Reproject) -> None:
        self.queryables = queryables
        self.reproject = reproject
        self.columns: list[sql.Composable] = []

    # -- boolean structure ------------------------------------------------------------

    def boolean(self, node: Any) -> _Part:
        if isinstance(node, bool):
            return self.test(sql.SQL("TRUE" if node else "FALSE"))
        if not isinstance(node, dict) or "op" not in node:
            raise FilterError(f"expected a condition, got {_show(node)}")
        op, args = node["op"], node.get("args", [])
        if op in ("and", "or"):
            if not args:  # cql2 accepts it; SQL's "()" would fail in the database
                raise FilterError(f"{op.upper()} needs at least one condition")
            return self.junction(op, [self.boolean(a) for a in args])
        if op == "not":
            return self.negation(self.boolean(_single(args, "NOT")))
        if op in _COMPARISONS:
            return self.test(self.comparison(op, args))
        if op == "like":
            return self.test(self.like(args))
        if op == "between":
            return self.test(self.between(args))
        if op == "in":
            return self.test(self.member(args))
        if op == "isNull":
            return self.test(self.is_null(args))
        if op in _SPATIAL:
            return self.spatial(op, args)
        if op.startswith(("t_", "a_")):
            raise FilterError(
                f"{op.upper()} is not supported: compare a date-time property with =, <, >"
                " or BETWEEN instead"
            )
        raise FilterError(f"operator or function {op!r} is not supported")

    def junction(self, op: str, parts: list[_Part]) -> _Part:
        joiner = sql.SQL(" AND " if op == "and" else " OR ")
        exacts = [p.exact for p in parts]
        exact = (
            sql.SQL("({})").format(joiner.join(exacts))  # type: ignore[arg-type]
            if all(e is not None for e in exacts)
            else None
        )
        necessary = sql.SQL("({})").format(joiner.join(p.necessary for p in parts))
        reduce = np.minimum.reduce if op == "and" else np.maximum.reduce
        evaluates = [p.evaluate for p in parts]
        return _Part(exact, necessary, lambda c: reduce([e(c) for e in evaluates]))

    @staticmethod
    def negation(part: _Part) -> _Part:
        if part.exact is not None:
            negated = sql.SQL("(NOT {})").format(part.exact)
            return _Part(negated, negated, lambda c: 1.0 - part.evaluate(c))
        # NOT of a spatial test narrows nothing by bounding box
        return _Part(None, _TRUE, lambda c: 1.0 - part.evaluate(c))

    def test(self, condition: sql.Composable) -> _Part:
        """A property test: exact in SQL, and a column for the exact spatial evaluation."""
        k = len(self.columns)
        self.columns.append(sql.SQL("coalesce(({})::int::float8, 0.5)").format(condition))
        return _Part(condition, condition, lambda c: c.columns[:, k])

    # -- property tests ---------------------------------------------------------------

    def queryable(self, node: Any, what: str) -> Queryable:
        if not (isinstance(node, dict) and set(node) == {"property"}):
            raise FilterError(
                f"{what} needs a property on one side and a literal value on the other,"
                f" got {_show(node)} (comparing two properties or expressions is not supported)"
            )
        name = node["property"]
        found = self.queryables.get(name)
        if found is None:
            if name == GEOMETRY:
                raise FilterError(f"{what} does not apply to the geometry; use S_INTERSECTS")
            raise FilterError(
                f"unknown queryable {name!r}; this collection's are"
                f" {sorted(self.queryables)} (see its /queryables)"
            )
        return found

    def comparison(self, op: str, args: list[Any]) -> sql.Composable:
        left, right = _pair(args, op)
        if isinstance(left, dict) and "property" in left:
            prop, literal = left, right
        else:
            prop, literal, op = right, left, _MIRROR[op]
        q = self.queryable(prop, f"'{op}'")
        return sql.SQL("{} {} {}").format(
            _column(q), sql.SQL(_COMPARISONS[op]), sql.Literal(_literal(q, literal, op))
        )

    def like(self, args: list[Any]) -> sql.Composable:
        prop, pattern = _pair(args, "LIKE")
        q = self.queryable(prop, "LIKE")
        if q.type != "string" or not isinstance(pattern, str):
            raise FilterError(f"LIKE compares a string property with a string pattern ({q.name})")
        return sql.SQL("{} LIKE {}").format(_column(q), sql.Literal(_text(pattern)))

    def between(self, args: list[Any]) -> sql.Composable:
        if len(args) != 3:
            raise FilterError("BETWEEN needs a property, a low and a high value")
        q = self.queryable(args[0], "BETWEEN")
        low, high = (_literal(q, v, "BETWEEN") for v in args[1:])
        return sql.SQL("{} BETWEEN {} AND {}").format(
            _column(q), sql.Literal(low), sql.Literal(high)
        )

    def member(self, args: list[Any]) -> sql.Composable:
        prop, values = _pair(args, "IN")
        q = self.queryable(prop, "IN")
        if not isinstance(values, list) or not values:
            raise FilterError("IN needs a non-empty list of values")
        items = sql.SQL(", ").join(sql.Literal(_literal(q, v, "IN")) for v in values)
        return sql.SQL("{} IN ({})").format(_column(q), items)

    def is_null(self, args: list[Any]) -> sql.Composable:
        q = self.queryable(_single(args, "IS NULL"), "IS NULL")
        return sql.SQL(
            "(properties -> {name} IS NULL OR properties -> {name} = 'null'::jsonb)"
        ).format(name=sql.Literal(q.name))

    # -- spatial predicates -----------------------------------------------------------

    def spatial(self, op: str, args: list[Any]) -> _Part:
        first, second = _pair(args, op.upper())
        if first == {"property": GEOMETRY}:
            literal = second
        elif second == {"property": GEOMETRY}:
            literal, op = first, _CONVERSE.get(op, op)
        else:
            raise FilterError(
                f"{op.upper()} needs the property {GEOMETRY!r} and a geometry literal,"
                f" got {_show(first)} and {_show(second)}"
            )
        geometry = self.reproject(_geometry(literal))
        if geometry.is_empty:  # cut away whole: outside the area its CRS is defined for
            raise FilterError(
                f"the geometry of {op.upper()} lies outside the area the filter's CRS covers"
            )
        shapely.prepare(geometry)
        predicate = _SPATIAL[op]
        if op == "s_disjoint":
            necessary: sql.Composable = _TRUE
        else:
            x0, y0, x1, y1 = shapely.bounds(geometry).tolist()
            necessary = sql.SQL("bbox && {}::box").format(sql.Literal(f"(({x0},{y0}),({x1},{y1}))"))
        return _Part(
            None, necessary, lambda c: predicate(c.geometries, geometry).astype(np.float64)
        )


def _column(q: Queryable) -> sql.Composable:
    """The attribute as SQL of its queryable's type."""
    text = sql.SQL("(properties ->> {})").format(sql.Literal(q.name))
    cast = {
        "number": "float8",
        "integer": "float8",
        "boolean": "boolean",
        "date-time": "timestamptz",
    }
    if q.type in cast:
        return sql.SQL("{}::{}").format(text, sql.SQL(cast[q.type]))
    return text


def _literal(q: Queryable, value: Any, op: str) -> object:
    """A literal as the Python value to compare with ``q``, or :class:`FilterError`."""
    if isinstance(value, dict) and ("property" in value or "op" in value):
        raise FilterError(
            f"{op} on {q.name} needs a literal value, got {_show(value)}"
            " (comparing two properties or expressions is not supported)"
        )
    if q.type in ("number", "integer"):
        if _is_number(value):
            return float(value)
    elif q.type == "boolean":
        if isinstance(value, bool):
            return value
    elif q.type == "date-time":
        if isinstance(value, dict) and set(value) <= {"timestamp", "date"} and len(value) == 1:
            try:
                # in UTC: a date or a naive timestamp would be read in the database
                # session's time zone, and the answer would depend on the server's
                if "date" in value:
                    return datetime.combine(date.fromisoformat(value["date"]), time(), UTC)
                moment = datetime.fromisoformat(value["timestamp"])
                return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            except (TypeError, ValueError):
                pass
    elif isinstance(value, str):
        return _text(value)
    expected = {
        "number": "a number",
        "integer": "a number",
        "boolean": "true or false",
        "date-time": "TIMESTAMP('…') or DATE('…')",
        "string": "a 'string'",
    }[q.type]
    raise FilterError(f"{q.name} holds {q.type} values: {op} needs {expected}, got {_show(value)}")


def _text(value: str) -> str:
    """A string literal for SQL: PostgreSQL text cannot hold NUL, which cql2-json's
    ``\\u0000`` can write."""
    if "\x00" in value:
        raise FilterError(f"string literals cannot contain NUL characters, got {_show(value)}")
    return value


def _is_number(value: Any) -> bool:
    """Whether a JSON value is a number (``true`` is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _geometry(literal: Any) -> shapely.Geometry:
    """A CQL2-JSON geometry or bbox literal as a shapely geometry."""
    if isinstance(literal, dict) and set(literal) == {"bbox"}:
        box = literal["bbox"]
        if not isinstance(box, list) or len(box) not in (4, 6) or not all(map(_is_number, box)):
            raise FilterError(f"BBOX needs 4 or 6 numbers, got {_show(box)}")
        if not all(map(math.isfinite, box)):  # cql2-text reads 1e999 as infinity
            raise FilterError(f"BBOX needs finite numbers, got {_show(box)}")
        minx, miny, maxx, maxy = box if len(box) == 4 else (box[0], box[1], box[3], box[4])
        if minx > maxx or miny > maxy:
            raise FilterError(f"BBOX must be given as min, min, max, max: {_show(box)}")
        return shapely.box(minx, miny, maxx, maxy)
    if isinstance(literal, dict) and "type" in literal:
        try:
            geometry = shape(literal)
        except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
            raise FilterError(f"not a usable geometry ({exc}): {_show(literal)}") from None
        if geometry.is_empty:
            raise FilterError(f"empty geometry in the filter: {_show(literal)}")
        return geometry
    raise FilterError(f"expected a geometry or BBOX literal, got {_show(literal)}")


def _pair(args: Any, what: str) -> tuple[Any, Any]:
    if not isinstance(args, list) or len(args) != 2:
        raise FilterError(f"{what} needs two arguments")
    return args[0], args[1]


def _single(args: Any, what: str) -> Any:
    if not isinstance(args, list) or len(args) != 1:
        raise FilterError(f"{what} needs one argument")
    return args[0]


def _show(node: Any) -> str:
    text = json.dumps(node)
    return text if len(text) <= 80 else text[:77] + "..."


def property_equals(q: Queryable, raw: str) -> Any:
    """A Part 1 property filter (``?zone=R1``) as CQL2-JSON, the value read as ``q``'s type."""
    value: Any = raw
    if q.type in ("number", "integer"):
        try:
            value = float(raw)
        except ValueError:
            raise FilterError(f"{q.name} holds {q.type} values; {raw!r} is not a number") from None
    elif q.type == "boolean":
        if raw not in ("true", "false"):
            raise FilterError(f"{q.name} holds boolean values: true or false, not {raw!r}")
        value = raw == "true"
    elif q.type == "date-time":
        value = _instant(raw, q.name)
    return {"op": "=", "args": [{"property": q.name}, value]}


def datetime_filter(q: Queryable, raw: str) -> Any:
    """The ``datetime`` parameter (an RFC 3339 instant, or an interval ``start/end`` with
    ``..`` or nothing for an open end) as CQL2-JSON on the temporal property ``q``."""
    prop = {"property": q.name}
    if "/" not in raw:
        return {"op": "=", "args": [prop, _instant(raw, "datetime")]}
    start, _, end = raw.partition("/")
    bounds = [
        {"op": op, "args": [prop, _instant(value, "datetime")]}
        for op, value in ((">=", start), ("<=", end))
        if value not in ("", "..")
    ]
    if not bounds:
        raise FilterError("datetime interval must have at least one closed end, not '../..'")
    return all_of(bounds)


def _instant(raw: str, what: str) -> dict[str, str]:
    try:
        datetime.fromisoformat(raw) if "T" in raw else date.fromisoformat(raw)
    except ValueError:
        raise FilterError(
            f"{what} {raw!r} is not an RFC 3339 date-time (e.g. 2026-11-23T12:00:00Z) or date"
        ) from None
    return {"timestamp": raw} if "T" in raw else {"date": raw}
