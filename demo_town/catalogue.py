"""Named places of the demo town: institutions, landmarks and parking lots.

Institution names are the real ones from the town's digital strategy (DOMAIN.md);
their positions, capacities (beds, pupils) and storeys are illustrative.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Institution:
    """A municipal institution and the building that houses it."""

    asset_id: str
    name: str
    kind: str
    building_use: str
    capacity: int
    levels: int
    offset: tuple[float, float]
    """Approximate position, metres east and north of the town centre."""


@dataclass(frozen=True)
class Landmark:
    """A place that occupies a whole street block of its own."""

    key: str
    role: str
    zone_code: str
    offset: tuple[float, float]
    min_area: float = 7_000.0
    """Smallest street cell (m²) the landmark may occupy."""


@dataclass(frozen=True)
class ParkingLotSpec:
    """A public parking lot and the place whose block hosts it."""

    asset_id: str
    name: str
    host: str


INSTITUTIONS = (
    Institution("town-hall", "Primăria", "town_hall", "town_hall", 0, 2, (0.0, 0.0)),
    Institution(
        "hospital-municipal", "Spitalul Municipal", "hospital", "hospital", 280, 5, (900.0, 700.0)
    ),
    Institution(
        "school-unirea", "Colegiul Național Unirea", "high_school", "school", 950, 3, (0.0, 380.0)
    ),
    Institution(
        "school-marin-preda",
        "Liceul Teoretic Marin Preda",
        "high_school",
        "school",
        700,
        3,
        (-650.0, 250.0),
    ),
    Institution(
        "school-praporgescu",
        "Liceul Tehnologic Gen. David Praporgescu",
        "high_school",
        "school",
        550,
        3,
        (950.0, -300.0),
    ),
    Institution(
        "school-sfantul-haralambie",
        "Liceul Tehnologic Sfântul Haralambie",
        "high_school",
        "school",
        450,
        2,
        (600.0, -750.0),
    ),
    Institution(
        "school-mircea-cel-batran",
        "Școala Gimnazială Mircea cel Bătrân",
        "school",
        "school",
        620,
        2,
        (-700.0, -450.0),
    ),
    Institution(
        "school-nr-2", "Școala Gimnazială nr. 2", "school", "school", 380, 2, (300.0, 950.0)
    ),
    Institution(
        "school-nr-4", "Școala Gimnazială nr. 4", "school", "school", 340, 2, (-300.0, -1000.0)
    ),
    Institution(
        "kindergarten-nr-1",
        "Grădinița cu Program Prelungit nr. 1",
        "kindergarten",
        "kindergarten",
        140,
        1,
        (-350.0, 600.0),
    ),
)

LANDMARKS = (
    Landmark("market", "market", "C", (280.0, -160.0)),
    Landmark("park", "park", "V", (-220.0, 150.0), 15_000.0),
    Landmark("stadium", "stadium", "V", (-950.0, 900.0), 25_000.0),
    Landmark("station", "station", "CC", (1_450.0, 600.0)),
    Landmark("cemetery", "cemetery", "GC", (-1_050.0, 950.0), 15_000.0),
    Landmark("utility", "utility", "TE", (1_250.0, -750.0)),
)

PORT_HOST = "port"
"""Host key of the parking lot in the port."""

PARKING_LOTS = (
    ParkingLotSpec("lot-centru", "Parcarea Centru", "town-hall"),
    ParkingLotSpec("lot-piata", "Parcarea Piață", "market"),
    ParkingLotSpec("lot-spital", "Parcarea Spital", "hospital-municipal"),
    ParkingLotSpec("lot-gara", "Parcarea Gară", "station"),
    ParkingLotSpec("lot-port", "Parcarea Port", PORT_HOST),
    ParkingLotSpec("lot-stadion", "Parcarea Stadion", "stadium"),
)
PARKING_BAYS_RANGE = (40, 150)
"""Inclusive range of bays drawn for each lot."""

AIR_QUALITY_STATIONS = (
    ("aq-tr-2", "Stația de monitorizare a calității aerului TR-2", (120.0, -80.0)),
    ("aq-tr-3", "Stația de monitorizare a calității aerului TR-3", (200.0, -1_400.0)),
    ("aq-tr-4", "Stația de monitorizare a calității aerului TR-4", (700.0, 950.0)),
)
"""National-network stations (calitateaer.ro names); positions are illustrative."""

GAUGE_ASSET_ID = "gauge-tr-magurele"
GAUGE_NAME = "Stația hidrometrică Tr. Măgurele (Dunăre)"
