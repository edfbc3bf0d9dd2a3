"""PUG zoning of the demo town: a role and a functional zone for every street cell.

Zone codes follow common Romanian PUG practice (DOMAIN.md, *unconfirmed*); the
territorial reference units (UTR) are the centre plus six sectors around it, and the
port as a separate built-up body.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo_town.catalogue import INSTITUTIONS, LANDMARKS, PORT_HOST
from demo_town.geography import CRS, Site
from demo_town.streets import StreetNetwork

ZONE_NAMES = {
    "C": "Zonă centrală",
    "L": "Zonă de locuințe colective cu regim mediu de înălțime",
    "Lm": "Zonă de locuințe individuale cu regim mic de înălțime",
    "IS": "Zonă pentru instituții publice și servicii de interes general",
    "I": "Zonă pentru unități industriale și depozite",
    "V": "Zonă de spații verzi, sport și agrement",
    "A": "Zonă agricolă în intravilan",
    "CC": "Zonă pentru căi de comunicație și construcții aferente",
    "TE": "Zonă pentru echipare tehnico-edilitară",
    "GC": "Zonă pentru gospodărie comunală și cimitire",
}
ROLE_ZONE = {
    "institution": "IS",
    "central": "C",
    "market": "C",
    "housing": "Lm",
    "apartments": "L",
    "industry": "I",
    "port": "I",
    "agri": "A",
    "park": "V",
    "stadium": "V",
    "station": "CC",
    "quay": "CC",
    "utility": "TE",
    "cemetery": "GC",
}
PLACE_MIN_AREA_M2 = 7_000.0
PLACE_JITTER_M = 60.0
CENTRAL_RADIUS_M = 380.0
CENTRE_UTR_RADIUS_M = 450.0
INDUSTRY_BAND_M = 400.0
"""Industry occupies cells this close to the town's southern edge, towards the port."""
INDUSTRY_HALF_SPREAD_M = 1_100.0
APARTMENT_RING_M = (300.0, 1_000.0)
APARTMENT_SECTORS = 3
APARTMENT_SECTOR_HALF_ANGLE = np.radians(28.0)
APARTMENT_PROBABILITY = (0.5, 0.03)
"""Chance of a ring cell being collective housing inside / outside a block district."""
AGRI_EDGE_M = 150.0
AGRI_PROBABILITY = 0.35
PORT_UTR = "UTR 8"
UNASSIGNED = ""


def zone_cells(network: StreetNetwork, site: Site, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Give every town and port cell a ``role``, a ``host`` place key (or None) and its zone.

    Returns a GeoDataFrame with columns ``role``, ``host``, ``code``, ``name``, ``utr``.
    """
    town = _town_roles(network.town_cells, site, rng)
    port = _port_roles(network.port_cells, site)
    cells = pd.concat([town, port], ignore_index=True)
    cells["code"] = cells["role"].map(ROLE_ZONE)
    cells["name"] = cells["code"].map(ZONE_NAMES)
    return gpd.GeoDataFrame(cells, geometry="geometry", crs=CRS)


def zones_layer(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dissolve cells into zone polygons per (code, UTR); columns ``code``, ``name``, ``utr``."""
    rows = []
    for (code, utr), group in cells.groupby(["code", "utr"], sort=True):
        merged = shapely.union_all(group.geometry.to_numpy())
        for part in shapely.get_parts(merged):
            rows.append((code, ZONE_NAMES[code], utr, part))
    return gpd.GeoDataFrame(rows, columns=["code", "name", "utr", "geometry"], crs=CRS)


def _town_roles(cells: np.ndarray, site: Site, rng: np.random.Generator) -> pd.DataFrame:
    centroid = shapely.get_coordinates(shapely.centroid(cells))
    dx = centroid[:, 0] - site.centre.x
    dy = centroid[:, 1] - site.centre.y
    radius = np.hypot(dx, dy)
    angle = np.arctan2(dy, dx)
    area = shapely.area(cells)
    role = np.full(len(cells), UNASSIGNED, dtype=object)
    host = np.full(len(cells), None, dtype=object)

    places = [(i.asset_id, "institution", i.offset, PLACE_MIN_AREA_M2) for i in INSTITUTIONS]
    places += [(m.key, m.role, m.offset, m.min_area) for m in LANDMARKS]
    for key, place_role, (ox, oy), min_area in places:
        jitter = rng.normal(0.0, PLACE_JITTER_M, 2)
        distance = np.hypot(dx - ox - jitter[0], dy - oy - jitter[1])
        distance[(role != UNASSIGNED) | (area < min_area)] = np.inf
        chosen = int(np.argmin(distance))
        role[chosen], host[chosen] = place_role, key

    free = role == UNASSIGNED
    role[free & (radius < CENTRAL_RADIUS_M)] = "central"

    free = role == UNASSIGNED
    south_edge = site.town.bounds[1]
    industrial = (centroid[:, 1] < south_edge + INDUSTRY_BAND_M) & (
        np.abs(dx) < INDUSTRY_HALF_SPREAD_M
    )
    role[free & industrial & (rng.random(len(cells)) < 0.8)] = "industry"

    free = role == UNASSIGNED
    sector_angles = rng.uniform(-np.pi, np.pi, APARTMENT_SECTORS)
    off_axis = np.abs(np.angle(np.exp(1j * (angle[:, None] - sector_angles[None, :]))))
    in_district = (off_axis < APARTMENT_SECTOR_HALF_ANGLE).any(axis=1)
    in_ring = (radius > APARTMENT_RING_M[0]) & (radius < APARTMENT_RING_M[1])
    chance = np.where(in_district, *APARTMENT_PROBABILITY)
    role[free & in_ring & (rng.random(len(cells)) < chance)] = "apartments"

    free = role == UNASSIGNED
    edge_distance = shapely.distance(shapely.centroid(cells), site.town.exterior)
    near_edge = edge_distance < AGRI_EDGE_M
    role[free & near_edge & (rng.random(len(cells)) < AGRI_PROBABILITY)] = "agri"

    role[role == UNASSIGNED] = "housing"
    sector = np.floor((angle + np.pi) / (np.pi / 3.0)).astype(int) % 6
    utr = np.where(radius < CENTRE_UTR_RADIUS_M, "UTR 1", [f"UTR {s + 2}" for s in sector])
    return pd.DataFrame({"role": role, "host": host, "utr": utr, "geometry": cells})


def _port_roles(cells: np.ndarray, site: Site) -> pd.DataFrame:
    """The cell on the river is the quay; the largest other one hosts the port's lot."""
    river_distance = shapely.distance(cells, site.danube.centreline)
    quay = int(np.argmin(river_distance))
    area = shapely.area(cells)
    area[quay] = -np.inf
    main = int(np.argmax(area))
    role = np.full(len(cells), "industry", dtype=object)
    host = np.full(len(cells), None, dtype=object)
    role[quay] = "quay"
    role[main], host[main] = "port", PORT_HOST
    return pd.DataFrame({"role": role, "host": host, "utr": PORT_UTR, "geometry": cells})
