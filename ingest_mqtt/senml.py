"""SenML packs in JSON (RFC 8428, ``application/senml+json``) into readings and positions.

Hand-written rather than taken from a library: the SenML packages on PyPI are a
serialiser (micropython-senml) or have had no release since 2016-2018 (senml 0.1.0,
kpn-senml 1.0.1), and the contract needs more than resolution anyway: the name rule,
units, bounds and drone positions, each refusal with its record index. The decoder is
one loop over the ``json.loads`` output (timings in ``docs/mqtt.md``).

Resolution follows RFC 8428 §4: base fields (``bn``, ``bt``, ``bu``, ``bv``, ``bs``,
``bver``) apply to their record and every later one until replaced; the name is
``bn + n``; the unit is ``u``, else ``bu``; the value is ``bv + v``; the time is
``bt + t``, absolute (seconds since the epoch) when at least 2**28, otherwise relative
to the message's arrival. Unknown fields are ignored unless their label ends in ``_``
(must-understand, §4.4). Only JSON is accepted: CBOR, XML and EXI packs are refused.

The name rule: the device comes from the topic, the quantity is the resolved name with
the device stripped. For device ``D`` these names are accepted for quantity ``q``:
``q``, ``D/q``, ``D:q`` and ``urn:dev:id:D:q`` (RFC 9039 ``id`` device URN); a name
naming another device is refused.

A bad record is refused with its index and the others are kept. A bad *base* field
(or an unknown must-understand base field, or a version change) would change how every
later record reads, so those later records are refused too, each saying why.
"""

from __future__ import annotations

import re
from collections.abc import Set
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest_mqtt.errors import PayloadError
from ingest_mqtt.quantities import IDENTITY, KNOWN, POSITION, QUANTITIES, Conversion, Quantity
from ingest_mqtt.validation import (
    MAX_FUTURE_S,
    MIN_TIME,
    MIN_TIMESTAMP,
    Parsed,
    finite,
    load_json,
)
from storage.readings import Reading, TrackPoint

ABSOLUTE_TIME = 2**28
"""RFC 8428 §4.5.3: times at or above this are seconds since the epoch, below it relative."""

VERSIONS = {10: "RFC 8428", 26: "RFC 8428 with Secondary Units (RFC 9100 feature 4)"}
"""Accepted ``bver`` values; a pack without ``bver`` is version 10."""

DEFAULT_VERSION = 10

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-:./_]*")  # RFC 8428 §4.5.1
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_LABELS = frozenset(
    {"bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"}
)  # RFC 8428 §4.1 and §4.2; any other label is an extension
_PLAIN = frozenset({"n", "u", "v", "t"})
"""The labels of the usual record: no base fields, no extensions, a plain value."""
_DEV_URN = "urn:dev:id:"


class _Skip(Exception):
    """A record is refused: ``reason`` without the ``record i:`` prefix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Poison(_Skip):
    """A base field is unusable: this record and every later one are refused."""

    def __init__(self, reason: str, later: str) -> None:
        super().__init__(reason)
        self.later = later


def _sniff(payload: bytes) -> None:
    """Refuse the SenML representations other than JSON with a reason that says so."""
    start = payload[:64].lstrip()[:1]
    if start == b"<":
        raise PayloadError(
            "payload looks like XML (application/senml+xml): only application/senml+json"
            " is accepted"
        )
    if start and 0x80 <= start[0] <= 0x9F:
        raise PayloadError(
            "payload looks like CBOR (application/senml+cbor): only application/senml+json"
            " is accepted"
        )


def _quantity_of(name: str, device_id: str) -> str:
    """Apply the name rule: the quantity part of a resolved name, or raise :class:`_Skip`."""
    if not _NAME.fullmatch(name):
        raise _Skip(f"name {name!r} is not a SenML name (RFC 8428 §4.5.1)")
    cut = max(name.rfind("/"), name.rfind(":")) + 1
    head, quantity = name[:cut], name[cut:]
    if head and head not in (f"{device_id}/", f"{device_id}:", f"{_DEV_URN}{device_id}:"):
        other = head[:-1].removeprefix(_DEV_URN)
        if _DEVICE_ID.fullmatch(other):
            raise _Skip(f"name {name!r} names device {other!r}, not {device_id!r} of the topic")
        raise _Skip(
            f"name {name!r} is not '<quantity>', '{device_id}/<quantity>',"
            f" '{device_id}:<quantity>' or '{_DEV_URN}{device_id}:<quantity>'"
        )
    if not quantity:
        raise _Skip(f"name {name!r} has no quantity after the device")
    return quantity


def _number(record: dict[str, Any], label: str) -> float:
    value = finite(record[label])
    if value is None:
        raise _Skip(f"'{label}' must be a finite number, got {record[label]!r:.40}")
    return value


def _text(record: dict[str, Any], label: str) -> str:
    value = record[label]
    if type(value) is not str:
        raise _Skip(f"'{label}' must be a string, got {value!r:.40}")
    return value


def _describe_time(total: float, stamp: float) -> str:
    kind = "absolute" if total >= ABSOLUTE_TIME else "relative"
    try:
        when = datetime.fromtimestamp(stamp, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return f"time {total:.15g} ({kind})"
    return f"time {total:.15g} ({kind}, {when})"


class _Pack:
    """The resolution state of one pack: base fields in force, caches, the outcome."""

    def __init__(
        self,
        device_id: str,
        received_at: datetime,
        allowed: Set[str] | None,
        drone: bool,
    ) -> None:
        self.device_id = device_id
        self.received_at = received_at
        self.received_ts = received_at.timestamp()
        self.allowed = allowed
        self.drone = drone
        self.base_name = ""
        self.base_time = 0.0
        self.base_unit: str | None = None
        self.base_value = 0.0
        self.version: int | None = None
        self.names: dict[str, tuple[str, str]] = {}  # name: (quantity, refusal)
        self.targets: dict[tuple[str, str | None], tuple[Quantity, Conversion] | str] = {}
        # the raw (n, u) of usual records that resolved, under the base fields in force
        self.fast_targets: dict[tuple[object, object], tuple[str, Quantity, Conversion]] = {}
        self.times: dict[float, tuple[float, datetime]] = {}
        # (quantity, seconds since the epoch): hashing a float costs a fifth of hashing
        # an aware datetime, which computes its UTC offset each time
        self.seen: dict[tuple[str, float], int] = {}
        self.parsed = Parsed()
        # drones: position parts and observations until the pack is read
        self.positions: dict[datetime, dict[str, tuple[float, int]]] = {}
        self.observations: list[tuple[int, Reading]] = []

    def apply_base(self, record: dict[str, Any]) -> None:
        """Take the base fields of a record, raising :class:`_Poison` if one is unusable."""
        try:
            if "bver" in record:
                version = record["bver"]
                if type(version) is not int or version not in VERSIONS:
                    raise _Skip(
                        f"bver {version!r:.20} is not supported (accepted: {sorted(VERSIONS)})"
                    )
                if self.version is not None and version != self.version:
                    raise _Skip(f"bver {version} differs from the pack's bver {self.version}")
                self.version = version
            if "bn" in record or "bu" in record:
                self.fast_targets.clear()  # resolved under the base fields being replaced
            if "bn" in record:
                self.base_name = _text(record, "bn")
            if "bt" in record:
                self.base_time = _number(record, "bt")
            if "bu" in record:
                self.base_unit = _text(record, "bu") or None
            if "bv" in record:
                self.base_value = _number(record, "bv")
            if "bs" in record:
                _number(record, "bs")  # sums are not stored; a bad one is still an error
        except _Skip as skip:
            raise _Poison(skip.reason, f"an unusable base field ({skip.reason})") from None
        if self.version is None:
            self.version = DEFAULT_VERSION

    def instant(self, total: float) -> tuple[float, datetime]:
        """The resolved time ``bt + t`` in seconds since the epoch and as a datetime,
        within the accepted window."""
        cached = self.times.get(total)
        if cached is not None:
            return cached
        stamp = total if total >= ABSOLUTE_TIME else self.received_ts + total
        if not MIN_TIMESTAMP <= stamp <= self.received_ts + MAX_FUTURE_S:
            if stamp < MIN_TIMESTAMP:
                raise _Skip(f"{_describe_time(total, stamp)} is before {MIN_TIME.year}")
            raise _Skip(
                f"{_describe_time(total, stamp)} is {stamp - self.received_ts:.15g} s after"
                f" arrival, more than {MAX_FUTURE_S:g} s"
            )
        if total >= ABSOLUTE_TIME:
            moment = datetime.fromtimestamp(stamp, UTC)
        else:
            moment = self.received_at + timedelta(seconds=total)
        self.times[total] = stamp, moment
        return stamp, moment

    def value(self, record: dict[str, Any]) -> tuple[float, bool]:
        """The record's value and whether it came as a boolean (``vb``)."""
        if "v" in record:
            if "vb" in record or "vs" in record or "vd" in record:
                raise _Skip("more than one value field")
            return self.base_value + _number(record, "v"), False
        if "vb" in record:
            if "vs" in record or "vd" in record:
                raise _Skip("more than one value field")
            flag = record["vb"]
            if type(flag) is not bool:
                raise _Skip(f"'vb' must be true or false, got {flag!r:.40}")
            return (1.0 if flag else 0.0), True
        if "vs" in record:
            raise _Skip("string values ('vs') are not accepted: no quantity holds text")
        if "vd" in record:
            raise _Skip("data values ('vd') are not accepted: no quantity holds binary data")
        if "s" in record:
            raise _Skip("a sum without a value ('s' alone) is not stored: no quantity holds sums")
        raise _Skip("no value field (v or vb)")

    def quantity(self, record: dict[str, Any]) -> str:
        """The quantity named by the record, after the name rule."""
        name = self.base_name + _text(record, "n") if "n" in record else self.base_name
        found = self.names.get(name)
        if found is None:
            try:
                if not name:
                    raise _Skip("no name (n or bn)")
                found = (_quantity_of(name, self.device_id), "")
            except _Skip as skip:
                found = ("", skip.reason)
            self.names[name] = found
        if found[1]:
            raise _Skip(found[1])
        return found[0]

    def target(self, name: str, unit: str | None) -> tuple[Quantity, Conversion]:
        """The quantity and the conversion from ``unit``, if the sender may report them."""
        found = self.targets.get((name, unit))
        if found is None:
            found = self._resolve(name, unit)
            self.targets[name, unit] = found
        if isinstance(found, str):
            raise _Skip(found)
        return found

    def _resolve(self, name: str, unit: str | None) -> tuple[Quantity, Conversion] | str:
        quantity = QUANTITIES.get(name)
        if quantity is None:
            return f"unknown quantity {name!r} (known: {KNOWN})"
        allowed = self.allowed
        if allowed is not None and name not in allowed and not (self.drone and name in POSITION):
            return (
                f"{'drone' if self.drone else 'device'} {self.device_id!r} does not report"
                f" {name!r}; registered quantities: {sorted(allowed)}"
            )
        conversion = quantity.senml_units.get(unit)
        if conversion is None:
            if unit is None:
                return f"no unit for {name} (accepted: {quantity.accepted})"
            return f"unit {unit!r} is not accepted for {name} (accepted: {quantity.accepted})"
        return quantity, conversion

    def fast(self, index: int, record: dict[str, Any]) -> bool:
        """Store a usual record (``n``, ``u``, numeric ``v`` and ``t``) whose name, unit
        and time resolved before; False leaves the record to :meth:`record`, which also
        gives every refusal its reason.

        The general path checks every label of every record; a pack repeats a few names
        and units, so after the first record of each this path decodes a record in about
        2.8 µs against 3.6-4.1 µs (``bench/parse_bench.py``, side by side).
        """
        v = record.get("v")
        t = record.get("t")
        n = record.get("n")
        u = record.get("u")
        # No other label (nor a null one): cheaper than comparing key sets.
        if len(record) != 1 + (t is not None) + (n is not None) + (u is not None):
            return False
        if t is None:
            t = 0.0
        # JSON numbers well inside the float range; booleans, NaN, infinities and
        # ints beyond a float go the general way.
        if not (
            (type(v) is float or type(v) is int)
            and (type(t) is float or type(t) is int)
            and -1e300 < v < 1e300
            and -1e300 < t < 1e300
        ):
            return False
        try:
            target = self.fast_targets.get((n, u))
        except TypeError:  # an unhashable name or unit: refused by the general path
            return False
        if target is None:
            return False
        self.store(index, target, self.instant(self.base_time + t), self.base_value + v)
        return True

    def record(self, index: int, record: dict[str, Any]) -> None:
        """Resolve one record into a reading or a position part."""
        plain = record.keys() <= _PLAIN
        if plain:
            if self.version is None:
                self.version = DEFAULT_VERSION
        else:
            extra = record.keys() - _LABELS
            must = sorted(label for label in extra if label.endswith("_"))
            base = [label for label in must if label.startswith("b")]
            if base:
                raise _Poison(
                    f"unknown must-understand base field {base[0]!r} (RFC 8428 §4.4)",
                    f"an unknown must-understand base field {base[0]!r}",
                )
            self.apply_base(record)
            if must:
                raise _Skip(f"unknown must-understand field {must[0]!r} (RFC 8428 §4.4)")
        name = self.quantity(record)
        instant = self.instant(
            self.base_time + _number(record, "t") if "t" in record else self.base_time
        )
        value, as_boolean = self.value(record)
        if not plain:
            for label in ("s", "ut"):
                if label in record:
                    _number(record, label)
        # An empty "u" is no unit of the record's own, so the base unit applies.
        unit = (_text(record, "u") or self.base_unit) if "u" in record else self.base_unit
        quantity, conversion = self.target(name, unit)
        if as_boolean and not quantity.boolean:
            raise _Skip(f"{name} takes a number ('v'), not a boolean ('vb')")
        if plain and not as_boolean:
            self.fast_targets[record.get("n"), record.get("u")] = (name, quantity, conversion)
        self.store(index, (name, quantity, conversion), instant, value)

    def store(
        self,
        index: int,
        target: tuple[str, Quantity, Conversion],
        instant: tuple[float, datetime],
        value: float,
    ) -> None:
        """Convert, check and keep a resolved record: a reading or a drone position part."""
        name, quantity, conversion = target
        if conversion is not IDENTITY:
            # 9 decimals drop the binary noise of a conversion (1.1 m is 110 cm, not
            # 110.00000000000001) and keep far more precision than any sensor has.
            value = round(value * conversion[0] + conversion[1], 9)
        problem = quantity.problem(value)
        if problem is not None:
            raise _Skip(problem)
        stamp, moment = instant
        first = self.seen.setdefault((name, stamp), index)
        if first != index:
            raise _Skip(f"second {name} at {moment.isoformat()} (first: record {first})")
        if self.drone and name in POSITION:
            self.positions.setdefault(moment, {})[name] = (value, index)
        elif self.drone:
            self.observations.append((index, Reading(self.device_id, name, moment, value)))
        else:
            self.parsed.readings.append(Reading(self.device_id, name, moment, value))

    def reject(self, index: int, reason: str) -> None:
        """Refuse one record."""
        self.parsed.rejected.append(PayloadError(f"record {index}: {reason}", index))

    def place(self) -> None:
        """Drones: pair positions and observations by time, refusing the unpaired."""
        placed: set[datetime] = set()
        for moment, parts in self.positions.items():
            if "lat" in parts and "lon" in parts:
                alt = parts.get("alt")
                self.parsed.track.append(
                    TrackPoint(
                        self.device_id,
                        moment,
                        parts["lon"][0],
                        parts["lat"][0],
                        None if alt is None else alt[0],
                    )
                )
                placed.add(moment)
                continue
            missing = " and ".join(part for part in ("lat", "lon") if part not in parts)
            for name, (_value, index) in parts.items():
                self.reject(index, f"{name} at {moment.isoformat()} has no {missing} at that time")
        for index, reading in self.observations:
            if reading.time in placed:
                self.parsed.readings.append(reading)
            else:
                self.reject(
                    index,
                    f"{reading.quantity} at {reading.time.isoformat()} has no position:"
                    " the pack has no lat and lon at that time",
                )
        self.parsed.rejected.sort(key=lambda error: error.record_index or 0)


def parse(
    payload: bytes,
    device_id: str,
    received_at: datetime,
    allowed: Set[str] | None = None,
    *,
    drone: bool = False,
) -> Parsed:
    """Decode a SenML JSON pack; raise :class:`PayloadError` if the pack is unusable.

    ``allowed`` is the sender's registered quantities (None: any known quantity). For a
    drone, ``lat``/``lon``/``alt`` records become track points and each observation is
    kept only if the pack gives a position at its time.

    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    >>> pack = b'[{"bn": "g1/", "bt": 1795428000, "n": "water_level", "u": "m", "v": 3.12}]'
    >>> [(r.quantity, round(r.value, 6)) for r in parse(pack, "g1", now).readings]
    [('water_level', 312.0)]
    """
    _sniff(payload)
    document = load_json(payload)
    if not isinstance(document, list):
        raise PayloadError(
            f"a SenML pack must be a JSON array of records, got {type(document).__name__}"
        )
    if not document:
        raise PayloadError("empty SenML pack")
    pack = _Pack(device_id, received_at, allowed, drone)
    poisoned: tuple[int, str] | None = None
    for index, record in enumerate(document):
        if poisoned is not None:
            first, why = poisoned
            pack.reject(index, f"not read: record {first} has {why}, and base fields carry forward")
            continue
        if type(record) is not dict:
            pack.reject(index, f"expected a JSON object, got {type(record).__name__}")
            continue
        try:
            if not pack.fast(index, record):
                pack.record(index, record)
        except _Poison as poison:
            pack.reject(index, poison.reason)
            poisoned = (index, poison.later)
        except _Skip as skip:
            pack.reject(index, skip.reason)
    if drone:
        pack.place()
    return pack.parsed
