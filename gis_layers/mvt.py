"""Mapbox Vector Tile 2.1 layers written from whole arrays of features.

mapbox-vector-tile builds a protobuf message per feature in Python (about 18 µs a
feature even with geometries already on the grid), which was most of a cold town-zoom
tile's time (21,326 parcels). The format is small and fixed: a feature is its
id, its attribute tags (indices into the layer's key and value tables) and its geometry
as commands on the integer grid, every number a protobuf varint. Here the commands,
tags and varints of every feature are computed at once with numpy, and a layer is
written as one byte string; only the layer's distinct keys and values are written one
by one. mapbox-vector-tile stays the reader, and the oracle the tests check this
encoding against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from pandas.api.types import infer_dtype

POINT, LINESTRING, POLYGON = 1, 2, 3
"""MVT geometry types."""
_FAMILY = {0: POINT, 4: POINT, 1: LINESTRING, 5: LINESTRING, 3: POLYGON, 6: POLYGON}
"""shapely type id -> MVT geometry type (multi-geometries are one feature)."""
TYPE_IDS = list(_FAMILY)
"""shapely type ids of the geometries MVT can hold."""
_MOVE_TO_ONE = 1 | 1 << 3
_CLOSE_PATH = 7 | 1 << 3
_LINE_TO = 2
# protobuf field keys ((field number << 3) | wire type) of vector_tile.proto
_TILE_LAYER = 0x1A
_LAYER_VERSION, _LAYER_NAME, _LAYER_FEATURE, _LAYER_KEY, _LAYER_VALUE, _LAYER_EXTENT = (
    0x78,
    0x0A,
    0x12,
    0x1A,
    0x22,
    0x28,
)
_FEATURE_ID, _FEATURE_TAGS, _FEATURE_TYPE, _FEATURE_GEOMETRY = 0x08, 0x12, 0x18, 0x22
_VALUE_STRING, _VALUE_DOUBLE, _VALUE_INT, _VALUE_BOOL = 0x0A, 0x19, 0x20, 0x38
_STRING, _DOUBLE, _INTEGER, _BOOLEAN = range(4)
_KINDS = {str: _STRING, float: _DOUBLE, int: _INTEGER, bool: _BOOLEAN}
_VARINT_LIMITS = np.array([1 << bits for bits in range(7, 64, 7)], dtype=np.uint64)
"""Smallest numbers taking 2, 3, ... 10 bytes as varints."""
_INT64 = 0xFFFF_FFFF_FFFF_FFFF
"""int64 values are written as their two's complement."""
_SINGLE_TYPES = {"string": str, "integer": int, "floating": float, "boolean": bool}
"""Columns pandas finds of one type: factorised as they are (1, 1.0 and True never meet)."""

Value = str | int | float | bool


@dataclass(frozen=True)
class Attributes:
    """Features' attributes as MVT stores them: the layer's keys, its values (strings,
    then doubles, then integers, then booleans) and each feature's value of each key."""

    keys: list[str]
    values: tuple[list[str], list[float], list[int], list[bool]]
    tags: np.ndarray
    """(features, keys) value index of each feature's attribute, -1 where it has none."""

    @classmethod
    def of(cls, properties: list[dict[str, object]]) -> Attributes:
        """The attributes of features given as dictionaries: ``None`` values are left
        out, nested values written as JSON text."""
        keys, columns = _columns(properties)
        values: tuple[list[Value], ...] = ([], [], [], [])
        found = []  # each column's value codes, and the table place of each code
        for column in columns:
            codes, distinct = _factorize(column)
            kinds = np.fromiter(map(_KINDS.__getitem__, map(type, distinct)), np.int64)
            place = np.empty(len(distinct), dtype=np.int64)
            for kind in np.unique(kinds):  # one, but for columns of mixed types
                mine = np.flatnonzero(kinds == kind)
                place[mine] = len(values[kind]) + np.arange(len(mine))
                values[kind].extend(distinct[i] for i in mine)
            found.append((codes, kinds, place))
        starts = np.cumsum([0] + [len(v) for v in values])[:-1]
        tags = np.full((len(properties), len(keys)), -1, dtype=np.int64)
        for index, (codes, kinds, place) in enumerate(found):
            valued = codes >= 0
            tags[valued, index] = starts[kinds[codes[valued]]] + place[codes[valued]]
        return cls(keys, values, tags)  # type: ignore[arg-type]


def _columns(properties: list[dict[str, object]]) -> tuple[list[str], list[np.ndarray]]:
    """The keys, and each key's value of every feature (``None`` where it has none)."""
    n = len(properties)
    keys = tuple(properties[0]) if properties else ()
    if all(tuple(p) == keys for p in properties):  # as the importer writes them
        columns = zip(*(p.values() for p in properties), strict=True)
        return list(keys), [np.fromiter(c, object, n) for c in columns]
    every = list(dict.fromkeys(k for p in properties for k in p))
    return every, [np.fromiter((p.get(k) for p in properties), object, n) for k in every]


def _factorize(column: np.ndarray) -> tuple[np.ndarray, list[Value]]:
    """Codes of the column's values (-1 for None) and the distinct values, told apart by
    type as well as value."""
    kind = _SINGLE_TYPES.get(infer_dtype(column, skipna=True))
    if kind is not None:
        codes, distinct = pd.factorize(column, use_na_sentinel=True)
        return codes, [kind(v) for v in distinct]
    typed = np.empty(len(column), dtype=object)  # mixed types, or nested values: rare
    for i, v in enumerate(column):
        if v is not None:
            typed[i] = (type(v), v) if isinstance(v, Value) else (str, json.dumps(v))
    codes, distinct = pd.factorize(typed, use_na_sentinel=True)
    return codes, [v for _, v in distinct]


def layer(
    name: str, extent: int, ids: np.ndarray, geometries: np.ndarray, attributes: Attributes
) -> bytes:
    """A tile of one layer: feature ``ids`` (non-negative), their ``geometries`` (not
    empty, valid, in tile coordinates already on the integer grid, y down) and their
    ``attributes``. Repeated points are left out and rings wound as MVT wants them
    (exterior rings of positive area in y-down coordinates), as mapbox-vector-tile does."""
    types = np.vectorize(_FAMILY.__getitem__, otypes=[np.int64])(shapely.get_type_id(geometries))
    order = np.argsort(types, kind="stable")  # a family at a time; order is free in MVT
    ids, geometries, types = ids[order], geometries[order], types[order]
    tags = attributes.tags[order]
    commands, lengths = [], []
    for family, encode in ((POINT, _points), (LINESTRING, _lines), (POLYGON, _polygons)):
        chosen = types == family
        if chosen.any():
            family_commands, family_lengths = encode(geometries[chosen])
            commands.append(family_commands)
            lengths.append(family_lengths)
    present = tags >= 0
    pairs = np.stack([np.broadcast_to(np.arange(tags.shape[1]), tags.shape), tags], axis=-1)
    body = _features(
        ids.astype(np.uint64),
        types.astype(np.uint64),
        pairs[present].reshape(-1).astype(np.uint64),
        2 * present.sum(axis=1),
        np.concatenate(commands),
        np.concatenate(lengths),
    )
    parts = [bytes([_LAYER_VERSION, 2]), _bytes_field(_LAYER_NAME, name.encode()), body]
    parts += [_keys(attributes.keys), _values(attributes.values)]
    parts.append(bytes([_LAYER_EXTENT]) + _varint(extent))
    return _bytes_field(_TILE_LAYER, b"".join(parts))


def _keys(keys: list[str]) -> bytes:
    """The layer's key table: a ``keys`` field of each."""
    payloads = [k.encode() for k in keys]
    lengths = np.fromiter(map(len, payloads), np.int64, len(keys))
    heads = np.column_stack([np.full(len(keys), _LAYER_KEY), lengths]).astype(np.uint64)
    return _records(heads, payloads, lengths)


def _values(values: tuple[list[str], list[float], list[int], list[bool]]) -> bytes:
    """The layer's value table: a ``values`` field of each, typed as mapbox-vector-tile
    types them (strings, doubles, int64s, booleans)."""
    strings, doubles, integers, booleans = values
    encoded = [s.encode() for s in strings]
    lengths = np.fromiter(map(len, encoded), np.uint64, len(strings))
    numbers = np.array([i & _INT64 for i in integers], dtype=np.uint64)
    return b"".join(
        [
            _typed(
                [_VALUE_STRING, lengths], 1 + _varint_sizes(lengths) + lengths, (encoded, lengths)
            ),
            _typed(
                [_VALUE_DOUBLE],
                np.full(len(doubles), 9),
                ([np.array(doubles, dtype="<f8").tobytes()], np.full(len(doubles), 8)),
            ),
            _typed([_VALUE_INT, numbers], 1 + _varint_sizes(numbers)),
            _typed([_VALUE_BOOL, np.array(booleans, dtype=np.uint64)], np.full(len(booleans), 2)),
        ]
    )


def _typed(
    fields: list[int | np.ndarray],
    sizes: np.ndarray,
    payloads: tuple[list[bytes], np.ndarray] | None = None,
) -> bytes:
    """``values`` fields of one type: each the field's key and size, then the value
    message's ``fields`` (a key, and a number or the length of the payload), then its
    payload (the bytes, one after another, and their lengths) if it has one."""
    n = len(sizes)
    heads = [np.full(n, _LAYER_VALUE), sizes, *(np.broadcast_to(f, n) for f in fields)]
    data, lengths = payloads if payloads is not None else ([], np.zeros(n))
    return _records(np.column_stack(heads).astype(np.uint64), data, lengths.astype(np.int64))


def _records(heads: np.ndarray, payloads: list[bytes], lengths: np.ndarray) -> bytes:
    """Records one after another, each its head of varints then its payload (of
    ``lengths`` bytes, one after another in ``payloads``)."""
    head_sizes = _varint_sizes(heads.ravel()).reshape(heads.shape).sum(axis=1)
    sizes = head_sizes + lengths
    starts = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    out[_spread(starts, head_sizes)] = np.frombuffer(_varints(heads.ravel()), dtype=np.uint8)
    out[_spread(starts + head_sizes, lengths)] = np.frombuffer(b"".join(payloads), np.uint8)
    return out.tobytes()


def _bytes_field(key: int, payload: bytes) -> bytes:
    return bytes([key]) + _varint(len(payload)) + payload


def _varint(number: int) -> bytes:
    """One non-negative number as a protobuf varint (the tables' few thousand entries)."""
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _varint_sizes(numbers: np.ndarray) -> np.ndarray:
    """Bytes each number takes as a protobuf varint (7 bits a byte)."""
    return np.searchsorted(_VARINT_LIMITS, numbers, side="right") + 1


def _varints(numbers: np.ndarray) -> bytes:
    """``numbers`` (uint64) as consecutive protobuf varints."""
    sizes = _varint_sizes(numbers)
    starts = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    for byte in range(int(sizes.max(initial=0))):
        here = sizes > byte
        low = (numbers[here] >> np.uint64(7 * byte)) & np.uint64(0x7F)
        more = (sizes[here] > byte + 1).astype(np.uint64) << np.uint64(7)
        out[starts[here] + byte] = low | more
    return out.tobytes()


def _features(
    ids: np.ndarray,
    types: np.ndarray,
    tags: np.ndarray,
    tag_lengths: np.ndarray,
    commands: np.ndarray,
    command_lengths: np.ndarray,
) -> bytes:
    """Every feature as a layer's ``features`` field: id, tags, type and geometry, with
    each length prefix computed from the varint sizes of what it prefixes."""
    tag_bytes = _sums(_varint_sizes(tags), tag_lengths)
    command_bytes = _sums(_varint_sizes(commands), command_lengths)
    feature_bytes = (
        4  # one-byte keys of the four fields
        + 1  # the type, under 128
        + _varint_sizes(ids)
        + _varint_sizes(tag_bytes)
        + tag_bytes
        + _varint_sizes(command_bytes)
        + command_bytes
    )
    # per feature: [feature key, size, id key, id, tags key, size, tags..., type key,
    # type, geometry key, size, commands...]
    heads, middles = 6, 4
    counts = heads + tag_lengths + middles + command_lengths
    starts = np.cumsum(counts) - counts
    stream = np.empty(int(counts.sum()), dtype=np.uint64)
    stream[starts] = _LAYER_FEATURE
    stream[starts + 1] = feature_bytes
    stream[starts + 2] = _FEATURE_ID
    stream[starts + 3] = ids
    stream[starts + 4] = _FEATURE_TAGS
    stream[starts + 5] = tag_bytes
    middle = starts + heads + tag_lengths
    stream[middle] = _FEATURE_TYPE
    stream[middle + 1] = types
    stream[middle + 2] = _FEATURE_GEOMETRY
    stream[middle + 3] = command_bytes
    stream[_spread(starts + heads, tag_lengths)] = tags
    stream[_spread(middle + middles, command_lengths)] = commands
    return _varints(stream)


def _sums(sizes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sum of ``sizes`` over consecutive runs of ``lengths`` (runs may be empty)."""
    ends = np.cumsum(lengths)
    totals = np.concatenate([[0], np.cumsum(sizes)])
    return totals[ends] - totals[ends - lengths]


def _spread(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions ``starts[i], starts[i] + 1, ...`` for ``lengths[i]`` places each."""
    run = np.repeat(np.arange(len(lengths)), lengths)
    first = np.cumsum(lengths) - lengths
    return starts[run] + np.arange(int(lengths.sum())) - first[run]


def _zigzag_deltas(points: np.ndarray, feature_of_point: np.ndarray) -> np.ndarray:
    """Each point relative to the one before it in its feature (the first to the
    origin: the cursor restarts with each feature), zigzag-encoded."""
    deltas = np.diff(points, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    first = np.r_[True, feature_of_point[1:] != feature_of_point[:-1]]
    deltas[first] = points[first]
    return ((deltas << 1) ^ (deltas >> 63)).astype(np.uint64)


def _grid(coords: np.ndarray) -> np.ndarray:
    return np.rint(coords).astype(np.int64)


def _singles(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The parts of multi-geometries, and the geometry each part comes from."""
    if (shapely.get_type_id(geometries) < 4).all():
        return geometries, np.arange(len(geometries))
    return shapely.get_parts(geometries, return_index=True)


def _points(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Commands of points and multipoints: one MoveTo with every point; tokens a feature."""
    coords, feature = shapely.get_coordinates(geometries, return_index=True)
    count = np.bincount(feature, minlength=len(geometries))
    lengths = 1 + 2 * count
    starts = np.cumsum(lengths) - lengths
    commands = np.empty(int(lengths.sum()), dtype=np.uint64)
    commands[starts] = (count.astype(np.uint64) << np.uint64(3)) | np.uint64(1)
    rank = np.arange(len(coords)) - (np.cumsum(count) - count)[feature]
    at = starts[feature] + 1 + 2 * rank
    deltas = _zigzag_deltas(_grid(coords), feature)
    commands[at], commands[at + 1] = deltas[:, 0], deltas[:, 1]
    return commands, lengths


def _lines(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    parts, feature = _singles(geometries)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    points, part = _distinct(_grid(coords), part)
    count = np.bincount(part, minlength=len(parts))
    return _arcs(points, count, feature, len(geometries), closed=False)


def _polygons(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    parts, feature = _singles(geometries)
    if shapely.get_num_interior_rings(parts).any():
        rings, polygon = shapely.get_rings(parts, return_index=True)  # exterior first
    else:
        rings, polygon = parts, np.arange(len(parts))  # a polygon's coordinates: its ring
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    closing = np.zeros(len(coords), dtype=bool)
    closing[np.cumsum(np.bincount(ring, minlength=len(rings))) - 1] = True
    points, ring = _distinct(_grid(coords[~closing]), ring[~closing])  # ClosePath closes
    count = np.bincount(ring, minlength=len(rings))
    exterior = np.r_[True, polygon[1:] != polygon[:-1]]
    points = _wound(points, ring, count, exterior)
    return _arcs(points, count, feature[polygon], len(geometries), closed=True)


def _distinct(points: np.ndarray, arc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Without points equal to the one before them on their arc."""
    repeated = np.r_[False, (points[1:] == points[:-1]).all(axis=1) & (arc[1:] == arc[:-1])]
    return points[~repeated], arc[~repeated]


def _wound(
    points: np.ndarray, ring: np.ndarray, count: np.ndarray, exterior: np.ndarray
) -> np.ndarray:
    """Rings reversed where needed so that exterior rings have positive area by the
    surveyor's formula in y-down tile coordinates and interior rings negative."""
    first = np.cumsum(count) - count
    rank = np.arange(len(points)) - first[ring]
    following = np.where(rank + 1 < count[ring], np.arange(len(points)) + 1, first[ring])
    x, y = points[:, 0], points[:, 1]
    doubled_area = np.bincount(
        ring, weights=x * y[following] - x[following] * y, minlength=len(count)
    )
    reverse = (doubled_area > 0) != exterior
    order = np.where(reverse[ring], first[ring] + count[ring] - 1 - rank, np.arange(len(points)))
    return points[order]


def _arcs(
    points: np.ndarray, count: np.ndarray, feature: np.ndarray, features: int, closed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Commands of lines or rings: MoveTo the first point, LineTo the others, ClosePath
    for rings; with ``count`` points an arc, each arc of feature ``feature[arc]``. Returns
    the commands and their number for each feature."""
    arc_lengths = 2 * count + 2 + int(closed)
    starts = np.cumsum(arc_lengths) - arc_lengths
    commands = np.empty(int(arc_lengths.sum()), dtype=np.uint64)
    commands[starts] = _MOVE_TO_ONE
    commands[starts + 3] = ((count - 1).astype(np.uint64) << np.uint64(3)) | np.uint64(_LINE_TO)
    if closed:
        commands[starts + arc_lengths - 1] = _CLOSE_PATH
    arc = np.repeat(np.arange(len(count)), count)
    rank = np.arange(len(points)) - (np.cumsum(count) - count)[arc]
    at = starts[arc] + 1 + 2 * rank + (rank > 0)  # the LineTo command after the first point
    deltas = _zigzag_deltas(points, feature[arc])
    commands[at], commands[at + 1] = deltas[:, 0], deltas[:, 1]
    return commands, np.bincount(feature, weights=arc_lengths, minlength=features).astype(np.int64)
