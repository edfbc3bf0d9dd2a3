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
# # Parking analytics: utilisation by hour of the week, forecast against actuals
#
# The lots now (`/parking/lots`), each lot's utilisation by hour of the week over the
# last four weeks (`/parking/lots/{id}/utilisation`, Europe/Bucharest time), then the
# hub's occupancy forecast (`/parking/lots/{id}/forecast`) set against what the lot
# actually held (`/parking/lots/{id}/history`). See `docs/parking.md` and
# `docs/parking_forecast.md`.
#
# The hub is `SMARTCITY_API_URL` (default `http://127.0.0.1:8000`, as `make demo`
# serves it); the forecast needs `SMARTCITY_API_KEY` (any signed-in role). The
# back-test at the end runs the hub's own model (`parking.forecast`, imported from the
# hub's package: run the notebook in the hub's environment) on the history the API
# serves.

# %%
import os
from datetime import UTC, datetime, timedelta

import httpx
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import JSON, display

from parking.forecast import MAX_HORIZON_H, NotEnoughHistory, forecast_lot

API_URL = os.environ.get("SMARTCITY_API_URL", "http://127.0.0.1:8000")
API_KEY = os.environ.get("SMARTCITY_API_KEY")
hub = httpx.Client(base_url=API_URL, headers={"X-API-Key": API_KEY} if API_KEY else {}, timeout=120)

# %% [markdown]
# ## The lots now

# %%
lots = pd.DataFrame(hub.get("/parking/lots").raise_for_status().json()["lots"]).set_index("lot_id")
lots[["name", "status", "source", "capacity", "occupied", "free", "occupancy", "as_of"]]

# %% [markdown]
# ## Utilisation by hour of the week (last four weeks)
#
# Mean occupied share of each local hour of the week (Monday 00:00 first), per lot.

# %%
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
utilisation = {
    lot: hub.get(f"/parking/lots/{lot}/utilisation").raise_for_status().json() for lot in lots.index
}
cells = pd.DataFrame(
    {"lot_id": lot, **cell} for lot, answer in utilisation.items() for cell in answer["cells"]
)


def busiest_hour(lot_cells: pd.DataFrame) -> str:
    """The local hour of the week with the highest mean occupancy, as 'Wed 10:00'."""
    top = lot_cells.loc[lot_cells["occupancy"].idxmax()]
    return f"{DAYS[int(top['weekday'])]} {int(top['hour']):02d}:00"


peaks = pd.DataFrame(
    {
        "lot_id": lot,
        "mean_occupancy": cells.loc[cells.lot_id == lot, "occupancy"].mean(),
        "busiest_hour_of_week": busiest_hour(cells[cells.lot_id == lot]),
        "peak_occupied": answer["peak"]["occupied"] if answer["peak"] else None,
        "peak_at": answer["peak"]["at"] if answer["peak"] else None,
    }
    for lot, answer in utilisation.items()
).set_index("lot_id")
peaks.round(3)

# %%
busiest = peaks["mean_occupancy"].idxmax()
grid = (
    cells[cells.lot_id == busiest]
    .pivot(index="weekday", columns="hour", values="occupancy")
    .rename(index=dict(enumerate(DAYS)))
)
fig, ax = plt.subplots(figsize=(11, 3.2))
image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=1)
ax.set_yticks(range(len(grid.index)), grid.index)
ax.set_xticks(range(0, 24, 2))
ax.set_xlabel(f"hour ({utilisation[busiest]['time_zone']})")
ax.set_title(f"{lots.loc[busiest, 'name']}: mean occupancy by hour of the week")
fig.colorbar(image, ax=ax, label="occupied share")
plt.show()

# %% [markdown]
# ## The hub's forecast against the hours before it
#
# The last two days of the lot's hourly occupancy, then the next six hours as the hub
# forecasts them, with the 80 % and 95 % prediction intervals. The first forecast hour
# is the current one: the part of it already measured (5-minute samples) is shown
# beside it.

# %%
now = datetime.now(UTC)


def history(lot: str, start: datetime, end: datetime, step: str) -> pd.DataFrame:
    """The lot's history buckets in ``[start, end)``, indexed by their UTC start."""
    answer = hub.get(
        f"/parking/lots/{lot}/history",
        params={"start": start.isoformat(), "end": end.isoformat(), "step": step},
    ).raise_for_status()
    frame = pd.DataFrame(answer.json()["buckets"])
    return frame.set_index(pd.to_datetime(frame.pop("start"))) if len(frame) else frame


issued = hub.get(f"/parking/lots/{busiest}/forecast", params={"hours": MAX_HORIZON_H})
issued = issued.raise_for_status().json()
ahead = pd.DataFrame(
    {
        "start": pd.Timestamp(row["start"]),
        "occupied": row["occupied"],
        **{
            f"{bound}_{i['level']}": i[f"occupied_{bound}"]
            for i in row["intervals"]
            for bound in ("lower", "upper")
        },
    }
    for row in issued["forecast"]
).set_index("start")
before = history(busiest, now - timedelta(days=2), now, "1h")
this_hour = history(busiest, ahead.index[0].to_pydatetime(), now, "5m")
so_far = this_hour["occupied"].mean() if len(this_hour) else float("nan")

fig, ax = plt.subplots(figsize=(11, 3.5))
ax.plot(before.index, before["occupied"], label="actual (hourly mean)", color="black")
ax.fill_between(ahead.index, ahead["lower_95"], ahead["upper_95"], alpha=0.2, label="95 %")
ax.fill_between(ahead.index, ahead["lower_80"], ahead["upper_80"], alpha=0.3, label="80 %")
ax.plot(ahead.index, ahead["occupied"], marker="o", label=issued["model"]["name"])
if len(this_hour):
    ax.plot(this_hour.index, this_hour["occupied"], ".", color="red", label="this hour so far")
ax.axhline(issued["capacity"], linestyle=":", color="grey", label="capacity")
ax.set_ylabel("occupied places")
ax.legend(loc="upper left", fontsize="small")
plt.show()
print(
    f"{busiest}: forecast for the current hour {ahead['occupied'].iloc[0]:.1f} places,"
    f" measured so far {so_far:.1f} ({len(this_hour)} five-minute samples)"
)
ahead

# %% [markdown]
# ## Back-test: the last week, forecast hour by hour, against what happened
#
# From every sixth hour of the last seven days, the hub's model is fitted on the hourly
# history before that hour only (as the API does, up to four weeks) and forecasts the
# next six hours; each forecast is compared with the hour's actual mean. The seasonal
# naive forecast (the same hour a week before) is the yardstick.

# %%
hourly = history(busiest, now - timedelta(weeks=5), now, "1h")
hourly = hourly[hourly.index < pd.Timestamp(now).floor("h")]  # whole hours only
capacity = int(issued["capacity"])
actual = hourly["occupancy"] * capacity
origins = [t for t in actual.index[-7 * 24 :: 6] if t + pd.Timedelta(hours=6) <= actual.index[-1]]
errors = []
for origin in origins:
    try:
        made = forecast_lot(hourly["occupancy"][hourly.index < origin], capacity, now=origin)
    except NotEnoughHistory:
        continue
    for row in made.rows:
        start = pd.Timestamp(row.start)
        if start not in actual.index:
            continue
        naive = actual.get(start - pd.Timedelta(weeks=1), np.nan)
        low, high = row.intervals[80]
        errors.append(
            {
                "horizon_h": row.horizon_h,
                "model": abs(row.occupied - actual[start]),
                "seasonal_naive": abs(naive - actual[start]),
                "inside_80": low <= actual[start] <= high,
            }
        )
backtest = pd.DataFrame(errors).groupby("horizon_h").mean()
backtest.columns = ["model MAE (places)", "seasonal naive MAE", "share inside 80 %"]
backtest.round(2)

# %% tags=["summary"]
summary = {
    "lots": len(lots),
    "busiest": busiest,
    "utilisation_cells": {lot: len(answer["cells"]) for lot, answer in utilisation.items()},
    "occupancy_range": [float(cells["occupancy"].min()), float(cells["occupancy"].max())],
    "forecast_hours": len(ahead),
    "capacity": capacity,
    "forecast_range": [float(ahead["occupied"].min()), float(ahead["occupied"].max())],
    "backtest_forecasts": len(errors),
    "mae_model": backtest.iloc[:, 0].round(3).tolist(),
    "mae_naive": backtest.iloc[:, 1].round(3).tolist(),
    "inside_80": float(pd.DataFrame(errors)["inside_80"].mean()),
}
display(JSON(summary))
