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
# # Emergency staff: Danube flood scenarios and what they reach
#
# The gauge's level against its warning thresholds (`/river/gauges`), then the flood
# the hub computes from its terrain model at several levels (`/river/flood`: cells
# below the water surface connected to the river; a static model, no flow or levee
# breach, see `docs/river.md`) and, for each, the parcels, buildings, people, municipal
# assets and streets under water.
#
# The hub is `SMARTCITY_API_URL` (default `http://127.0.0.1:8000`, as `make demo`
# serves it). Gauges and floods are public; the alerts need `SMARTCITY_API_KEY` (any
# signed-in role). The hub computes at most 10 new flood levels a minute per client.

# %%
import os

import httpx
import pandas as pd
from IPython.display import JSON, display

API_URL = os.environ.get("SMARTCITY_API_URL", "http://127.0.0.1:8000")
API_KEY = os.environ.get("SMARTCITY_API_KEY")
hub = httpx.Client(base_url=API_URL, headers={"X-API-Key": API_KEY} if API_KEY else {}, timeout=120)

# %% [markdown]
# ## The gauge now

# %%
gauge = hub.get("/river/gauges").raise_for_status().json()["gauges"][0]
thresholds = gauge["thresholds_cm"]
level_now = gauge["level"]
print(
    f"{gauge['name']}: {level_now['cm']:g} cm at {level_now['time']}"
    f" (code {level_now['code']}); thresholds {thresholds}"
    f"; illustrative values: {', '.join(gauge['illustrative'])}"
)
pd.Series(thresholds, name="cm").to_frame()

# %% [markdown]
# ## Scenarios
#
# The current level, the three warning thresholds, and the danger level raised by one
# and two metres.

# %%
scenarios = {
    "now": level_now["cm"],
    "attention": thresholds["attention"],
    "flood": thresholds["flood"],
    "danger": thresholds["danger"],
    "danger + 1 m": thresholds["danger"] + 100,
    "danger + 2 m": thresholds["danger"] + 200,
}
floods = {
    name: hub.get("/river/flood", params={"gauge": gauge["device_id"], "level_cm": level})
    .raise_for_status()
    .json()
    for name, level in scenarios.items()
}
impact = pd.DataFrame(
    {
        "scenario": name,
        "level_cm": flood["level_cm"],
        "code": flood["code"],
        "water_surface_m": flood["water_surface_m"],
        "flooded_ha": flood["summary"]["flooded_area_m2"] / 10_000,
        "parcels": flood["summary"]["parcels"],
        "buildings": flood["summary"]["buildings"],
        "people": flood["summary"]["people_affected"],
        "assets": flood["summary"]["assets"],
        "streets_km": flood["summary"]["street_length_m"] / 1000,
    }
    for name, flood in floods.items()
).set_index("scenario")
impact.sort_values("level_cm").round(2)

# %% [markdown]
# ## Buildings under water, by use and depth (highest scenario)

# %%
worst = max(floods, key=lambda name: floods[name]["level_cm"])
flooded_buildings = pd.DataFrame(
    floods[worst]["impact"]["buildings"],
    columns=["building_id", "use", "max_depth_m", "residents"],
)
flooded_buildings["depth"] = pd.cut(
    flooded_buildings["max_depth_m"],
    [0, 0.5, 1, 2, float("inf")],
    labels=["< 0.5 m", "0.5-1 m", "1-2 m", "> 2 m"],
)
print(f"scenario {worst!r}: {floods[worst]['summary']['text']}")
flooded_buildings.pivot_table(
    index="use", columns="depth", values="building_id", aggfunc="count", observed=False
)

# %% [markdown]
# ## Municipal assets reached, depth (m) per scenario

# %%
reached = pd.DataFrame(
    {"scenario": name, "asset": f"{a['name']} ({a['kind']})", "depth_m": a["depth_m"]}
    for name, flood in floods.items()
    for a in flood["impact"]["assets"]
)
(
    reached.pivot_table(index="asset", columns="scenario", values="depth_m").reindex(
        columns=[name for name in scenarios if name in set(reached["scenario"])]
    )
    if len(reached)
    else reached
)

# %% [markdown]
# ## Parcels under water in the flood-level scenario, deepest first

# %%
parcels_flooded = pd.DataFrame(
    floods["flood"]["impact"]["parcels"],
    columns=["cadastral_number", "flooded_area_m2", "max_depth_m", "mean_depth_m"],
)
parcels_flooded.sort_values("max_depth_m", ascending=False).head(15)

# %% [markdown]
# ## Alerts open now

# %%
alerts = (
    hub.get("/river/alerts", params={"state": "open"}).raise_for_status().json()["alerts"]
    if API_KEY
    else []
)
print(f"{len(alerts)} open alert(s)")
pd.DataFrame(alerts, columns=["alert_id", "kind", "code", "state", "raised_at", "message"])

# %% tags=["summary"]
by_level = impact.sort_values("level_cm")
summary = {
    "gauge": gauge["device_id"],
    "level_now_cm": level_now["cm"],
    "scenarios": {
        name: {
            "level_cm": float(row.level_cm),
            "flooded_ha": float(row.flooded_ha),
            "parcels": int(row.parcels),
            "buildings": int(row.buildings),
        }
        for name, row in impact.iterrows()
    },
    "area_never_shrinks": bool(by_level["flooded_ha"].is_monotonic_increasing),
    "open_alerts": len(alerts),
}
display(JSON(summary))
