"""Personal data in payloads: the hub stores no licence plates.

No quantity holds text, so a plate a device sends (an ANPR camera at a lot's gate, say)
is always refused for its field and the message's other values are stored. What the
refusal would keep is the dead letter's copy of the payload: there the plate's value is
replaced by :data:`REDACTED` before anything is written, so no plate reaches the
database, in clear or hashed. (A salted hash was the other choice the issue allowed;
nothing in the hub needs to match one plate's visits, so minimisation wins: see
docs/parking.md.)

A plate is recognised by its field's name (:data:`PLATE_NAMES`, in any case, ``-`` and
``_`` ignored): a compact JSON value's key, any object key, or a SenML record's name
(``n``, after its base name).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

PLATE_NAMES = frozenset(
    {
        "plate",
        "licenceplate",
        "licenseplate",
        "numberplate",
        "platenumber",
        "registration",
        "registrationnumber",
        "vrn",
        "lpn",
        "anpr",
        "nrinmatriculare",  # Romanian: număr de înmatriculare
        "numarinmatriculare",
    }
)
REDACTED = "[licence plate removed]"
_HINT = re.compile(rb"(?i)plate|registration|vrn|lpn|anpr|inmatriculare")
"""A cheap test before parsing: a payload none of these words appear in holds no plate."""
_SENML_VALUES = ("v", "vs", "vd", "vb")


def is_plate(name: str) -> bool:
    """Whether a field so named holds a licence plate."""
    key = name.lower().replace("_", "").replace("-", "").replace(" ", "")
    return key in PLATE_NAMES or key.rsplit(":", 1)[-1] in PLATE_NAMES


def redact(payload: bytes) -> bytes | None:
    """The payload with every plate's value replaced by :data:`REDACTED`, or None when
    it holds none. A payload that is not JSON is kept whole unless a plate word appears
    in it: then it is dropped to :data:`REDACTED` entirely (it cannot be cut safely)."""
    if not _HINT.search(payload):
        return None
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return REDACTED.encode()
    changed, cleaned = _clean(document, "")
    return orjson.dumps(cleaned) if changed else None


def _clean(value: Any, base_name: str) -> tuple[bool, Any]:
    if isinstance(value, list):
        changed = False
        out = []
        base = base_name
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("bn"), str):
                base = item["bn"]  # SenML: a base name holds for the records after it
            item_changed, item = _clean(item, base)
            changed |= item_changed
            out.append(item)
        return changed, out
    if not isinstance(value, dict):
        return False, value
    changed = False
    out_dict: dict[str, Any] = {}
    name = value.get("n")
    senml_plate = isinstance(name, str) and is_plate(base_name + name)
    for key, item in value.items():
        if is_plate(key) or (senml_plate and key in _SENML_VALUES):
            out_dict[key] = REDACTED
            changed = True
        else:
            item_changed, out_dict[key] = _clean(item, base_name)
            changed |= item_changed
    return changed, out_dict
