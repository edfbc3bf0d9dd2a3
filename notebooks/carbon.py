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
# # Sustainability: the carbon inventory and reduction scenarios
#
# The municipality's inventory of its own assets (`/carbon/inventory`: sectors of the
# Covenant of Mayors, scopes, months, assets, against the baseline year), checked line
# by line against its CSV, then reduction measures valued side by side
# (`POST /carbon/scenarios/compare`) and set against the inventory. See
# `docs/carbon.md`.
#
# The hub is `SMARTCITY_API_URL` (default `http://127.0.0.1:8000`, as `make demo`
# serves it). `SMARTCITY_API_KEY` is needed: the inventory is for signed-in users, the
# scenarios for the **planner** role (`smartcity api-keys create notebooks --role
# planner`).

# %%
import io
import os
from datetime import UTC, datetime

import httpx
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import JSON, display

API_URL = os.environ.get("SMARTCITY_API_URL", "http://127.0.0.1:8000")
API_KEY = os.environ.get("SMARTCITY_API_KEY")
if not API_KEY:
    raise RuntimeError("set SMARTCITY_API_KEY to a planner's API key: the inventory needs one")
hub = httpx.Client(base_url=API_URL, headers={"X-API-Key": API_KEY}, timeout=120)
TODAY = datetime.now(UTC)
# the inventory's year: this one, or in January (days of data) the last one
YEAR = TODAY.year if TODAY.month > 1 else TODAY.year - 1
LAST_YEAR = TODAY.year - 1  # the last whole year of invoices

# %% [markdown]
# ## This year's inventory (to date; in January, last year's) against the baseline

# %%
inventory = hub.get("/carbon/inventory", params={"year": YEAR}).raise_for_status().json()
baseline = inventory["baseline"]
print(
    f"{YEAR}{' to date' if YEAR == TODAY.year else ''}:"
    f" {inventory['total']['t_co2e']:,.1f} t CO2e from"
    f" {inventory['total']['mwh']:,.0f} MWh (factors {inventory['factors_version']})"
)
if baseline:
    print(
        f"baseline {baseline['year']}: {baseline['total']['t_co2e']:,.1f} t CO2e;"
        f" change {baseline['change_pct']} %"
    )
# a year without data has no sectors: the table keeps its columns
sectors = pd.DataFrame(
    inventory["sectors"],
    columns=[
        "sector",
        "title",
        "mwh",
        "t_co2e",
        "scope1_t_co2e",
        "scope2_t_co2e",
        "baseline_t_co2e",
        "change_pct",
    ],
).set_index("sector")
sectors.round(1)

# %% [markdown]
# Months present so far (the meters fill days, invoices whole months) and tonnes by
# month and scope.

# %%
months = pd.DataFrame(inventory["months"]).set_index("month")
ax = months[["scope1_t_co2e", "scope2_t_co2e"]].plot.bar(stacked=True, figsize=(10, 3))
ax.set_ylabel("t CO2e")
ax.set_title(f"{YEAR}: tonnes by month and scope")
plt.show()
months.round(1)

# %% [markdown]
# The largest emitters, and the factors behind the figures (source, confirmed or not).

# %%
assets = pd.DataFrame(inventory["assets"]).set_index("asset_id")
display(assets[["name", "kind", "sector", "mwh", "t_co2e"]].head(10).round(1))
pd.DataFrame(inventory["factors"])

# %% [markdown]
# Every figure can be checked by hand: the CSV has one line per consumption with its
# factor and tonnes. Its lines add up to the JSON's total.

# %%
lines = pd.read_csv(
    io.StringIO(
        hub.get("/carbon/inventory", params={"year": YEAR, "f": "csv"}).raise_for_status().text
    )
)
by_sector = lines.groupby("sector")["t_co2e"].sum()
check = pd.DataFrame({"csv": by_sector, "json": sectors["t_co2e"]}).fillna(0)
print(
    f"{len(lines)} lines; CSV total {lines['t_co2e'].sum():,.3f} t,"
    f" JSON total {inventory['total']['t_co2e']:,.3f} t"
)
check.round(3)

# %% [markdown]
# ## Reduction scenarios
#
# The street lighting retrofit is sized from last year's billed lighting energy (a
# whole year of invoices): the luminaires that energy implies at 150 W over the hub's
# default 4,100 burning hours. Rooftop PV covers every municipal building the twin
# knows. The insulation and fleet figures are examples to replace with the town's own.
# Each measure's yearly tonnes are set against this year's inventory so far: early in
# the year, the share looks larger than it will be.

# %%
last_year = (
    hub.get("/carbon/inventory", params={"year": LAST_YEAR, "baseline": LAST_YEAR})
    .raise_for_status()
    .json()
)
lighting_mwh = sum(s["mwh"] for s in last_year["sectors"] if s["sector"] == "public_lighting")
luminaires = max(1, round(lighting_mwh * 1000 / (0.150 * 4100)))
print(f"{LAST_YEAR}: {lighting_mwh:,.0f} MWh of street lighting, about {luminaires} luminaires")
request = {
    "year": YEAR,
    "scenarios": [
        {
            "kind": "led_retrofit",
            "name": "Street lighting to LED",
            "luminaires": luminaires,
            "watts_before": 150,
            "watts_after": 60,
        },
        {"kind": "rooftop_pv", "name": "PV on municipal roofs"},
        {
            "kind": "insulation",
            "name": "Hospital envelope",
            "floor_area_m2": 9000,
            "heat_demand_before_kwh_m2": 190,
            "heat_demand_after_kwh_m2": 95,
        },
        {"kind": "fleet_electrification", "name": "Eight vans", "vehicles": 8},
    ],
}
compared = hub.post("/carbon/scenarios/compare", json=request).raise_for_status().json()
results = pd.DataFrame(compared["scenarios"]).set_index("name")
total_now = inventory["total"]["t_co2e"]
results["share_of_year_to_date_pct"] = 100 * results["tco2e_saved"] / total_now
results[
    [
        "kind",
        "mwh_saved",
        "tco2e_saved",
        "share_of_year_to_date_pct",
        "investment_eur",
        "annual_saving_eur",
        "simple_payback_years",
        "eur_per_tco2e_year",
    ]
].round(1)

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.2))
results["tco2e_saved"].plot.barh(ax=left, title="t CO2e saved a year")
results["eur_per_tco2e_year"].plot.barh(ax=right, title="EUR invested per t CO2e a year")
right.set_ylabel("")
plt.tight_layout()
plt.show()

# %% [markdown]
# What each result rests on: the unconfirmed assumptions are illustrative defaults to
# replace with the town's own prices and measurements.

# %%
pd.DataFrame(
    {"scenario": name, **a} for name, row in results.iterrows() for a in row["assumptions"]
).set_index(["scenario", "name"])

# %% tags=["summary"]
summary = {
    "year": YEAR,
    "total_t_co2e": inventory["total"]["t_co2e"],
    "sector_sum_t_co2e": float(sectors["t_co2e"].sum()),
    "csv_lines": len(lines),
    "csv_sum_t_co2e": float(lines["t_co2e"].sum()),
    "baseline_t_co2e": baseline["total"]["t_co2e"] if baseline else None,
    "luminaires": luminaires,
    "scenarios": {
        name: {"tco2e_saved": float(row.tco2e_saved), "mwh_saved": float(row.mwh_saved)}
        for name, row in results.iterrows()
    },
    "totals_t_co2e_saved": compared["totals"]["tco2e_saved"],
}
display(JSON(summary))
