# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Planner: the town's layers, its urbanism zones, a map
#
# Reads the hub's layers through its OGC API – Features (`/collections`) into
# geopandas, sums parcels, buildings and residents per urbanism zone (PUG), sets them
# beside the twin's live zone figures (`/twin/zones`: assets, parking, air quality) and
# draws a pydeck map that works offline.
#
# The hub is `SMARTCITY_API_URL` (default `http://127.0.0.1:8000`, as `make demo`
# serves it). Public layers need no key; with `SMARTCITY_API_KEY` (any signed-in role,
# e.g. `smartcity api-keys create notebooks --role planner`) the internal layers
# (municipal assets) are read too.

# %%
import os
import re
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pydeck as pdk
from IPython.display import JSON, IFrame, display

API_URL = os.environ.get("SMARTCITY_API_URL", "http://127.0.0.1:8000")
API_KEY = os.environ.get("SMARTCITY_API_KEY")
hub = httpx.Client(base_url=API_URL, headers={"X-API-Key": API_KEY} if API_KEY else {}, timeout=120)
OUT = Path("out")
OUT.mkdir(exist_ok=True)

# %% [markdown]
# ## The layers the hub serves

# %%
listed = hub.get("/collections").raise_for_status().json()["collections"]
layers = pd.DataFrame(
    {
        "id": c["id"],
        "title": c["title"],
        "geometry": c.get("geometryType"),
        "features": c.get("numberOfFeatures"),
    }
    for c in listed
)
layers


# %% [markdown]
# A layer is read page by page, following the API's `next` links. Geometries come in
# CRS84 (longitude, latitude: GeoJSON's order); areas are measured after an explicit
# reprojection to Stereo 70 (EPSG:3844, metres), the cadastre's CRS.


# %%
def read_layer(layer_id: str) -> gpd.GeoDataFrame:
    """Every feature of the collection ``layer_id``, in CRS84."""
    features: list[dict] = []
    url: str | None = f"/collections/{layer_id}/items?limit=10000"
    while url is not None:
        page = hub.get(url).raise_for_status().json()
        features += page["features"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return gpd.GeoDataFrame.from_features(features, crs="OGC:CRS84")


available = set(layers["id"])
parcels = read_layer("parcels")
zones = read_layer("zones")
buildings = read_layer("buildings")
lots = read_layer("parking_lots")
assets = read_layer("assets") if "assets" in available else None
print(
    f"{len(parcels)} parcels, {len(zones)} zone polygons, {len(buildings)} buildings,"
    f" {len(lots)} parking lots, {'no' if assets is None else len(assets)} municipal assets"
)

# %% [markdown]
# ## Parcels, buildings and residents by urbanism zone
#
# Each parcel and building counts in the zone that holds its representative point.

# %%
STEREO_70 = "EPSG:3844"
zone_shapes = zones[["code", "name", "geometry"]].to_crs(STEREO_70)


def zone_of(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in Stereo 70 with its area and the code of the zone it stands in."""
    metric = frame.to_crs(STEREO_70)
    metric["area_m2"] = metric.area
    points = metric.set_geometry(metric.representative_point())
    return gpd.sjoin(points, zone_shapes, how="left", predicate="within").drop(
        columns="index_right"
    )


parcels_z = zone_of(parcels)
buildings_z = zone_of(buildings)
by_zone = (
    parcels_z.groupby("code")
    .agg(parcels=("cadastral_number", "size"), parcel_ha=("area_m2", "sum"))
    .join(
        buildings_z.groupby("code").agg(
            buildings=("building_id", "size"),
            residents=("residents", "sum"),
            footprint_ha=("area_m2", "sum"),
        ),
        how="outer",
    )
    .fillna(0)
)
by_zone[["parcel_ha", "footprint_ha"]] /= 10_000
by_zone["built_share"] = by_zone["footprint_ha"] / by_zone["parcel_ha"]
by_zone.round(2)

# %% [markdown]
# ## The twin's figures per zone (last 24 hours)
#
# Assets, sensors, parking capacity and mean occupancy, and the European air quality
# index, from `/twin/zones`.

# %%
twin = hub.get("/twin/zones").raise_for_status().json()
live = pd.DataFrame(
    {
        "code": z["zone"],
        "name": z["name"],
        "assets": z["assets"],
        "sensors": z["sensors"],
        "parking_capacity": z["parking"]["capacity"],
        "parking_occupancy": z["parking"]["mean_occupancy"],
        "air_quality": z["air_quality"]["eaqi"],
    }
    for z in twin["zones"]
).set_index("code")
zone_table = live.join(by_zone, how="outer").sort_values("residents", ascending=False)
print(f"from {twin['start']} to {twin['end']}")
zone_table.round(2)

# %% [markdown]
# ## A map
#
# Urbanism zones, buildings by residents, parking lots by occupancy (and municipal
# assets with a key). No basemap and no CDN: the page is written with pydeck's own
# deck.gl bundle inside, so it opens without a network. pydeck's page template also
# names a basemap library and stylesheets on CDNs; with no basemap the page needs none
# of them, and they are left out so that it asks nothing of the network.

# %%
ZONE_COLOURS = {
    "C": [230, 120, 60],
    "IS": [200, 80, 160],
    "V": [80, 170, 80],
    "I": [140, 110, 200],
    "A": [210, 200, 120],
}
zones_drawn = zones.assign(
    fill=[ZONE_COLOURS.get(code, [240, 200, 120]) + [80] for code in zones["code"]]
)
lots_drawn = lots.assign(
    lon=lots.geometry.x,
    lat=lots.geometry.y,
    colour=[[int(255 * o), int(200 * (1 - o)), 60] for o in lots["occupancy"].fillna(0)],
)
layers_drawn = [
    pdk.Layer(
        "GeoJsonLayer",
        zones_drawn.__geo_interface__,
        get_fill_color="properties.fill",
        get_line_color=[80, 80, 80],
        line_width_min_pixels=1,
        pickable=True,
    ),
    pdk.Layer(
        "GeoJsonLayer",
        buildings.__geo_interface__,
        get_fill_color=[120, 120, 120, 160],
        pickable=True,
    ),
    pdk.Layer(
        "ScatterplotLayer",
        pd.DataFrame(lots_drawn.drop(columns="geometry")),
        get_position=["lon", "lat"],
        get_radius="capacity",
        get_fill_color="colour",
        pickable=True,
    ),
]
if assets is not None:
    assets_xy = pd.DataFrame(assets.drop(columns="geometry")).assign(
        lon=assets.geometry.x, lat=assets.geometry.y
    )
    layers_drawn.append(
        pdk.Layer(
            "ScatterplotLayer",
            assets_xy,
            get_position=["lon", "lat"],
            get_radius=25,
            get_fill_color=[30, 60, 200],
            pickable=True,
        )
    )
west, south, east, north = zones.total_bounds
deck = pdk.Deck(
    layers=layers_drawn,
    initial_view_state=pdk.ViewState(
        longitude=(west + east) / 2, latitude=(south + north) / 2, zoom=12.5
    ),
    map_provider=None,
    map_style=None,
    tooltip={"text": "{name} {code} {use} {residents} {free}"},
)
MAP = OUT / "planner-map.html"
page = deck.to_html(offline=True, notebook_display=False, as_string=True)
MAP.write_text(re.sub(r"<(script|link)[^>]+(src|href)=[\"']?https://[^>]*>(</script>)?", "", page))
display(IFrame(str(MAP), width="100%", height=520))

# %% tags=["summary"]
summary = {
    "layers": sorted(available),
    "parcels": len(parcels),
    "zones": int(zone_table.index.size),
    "residents": int(by_zone["residents"].sum()),
    "parcel_ha": float(by_zone["parcel_ha"].sum()),
    "lots": len(lots),
    "map": str(MAP.resolve()),
}
display(JSON(summary))
