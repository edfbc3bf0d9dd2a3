"""The locustfile of ``bench/load_test.py``: the hub's three user groups.

- planners: collections, items in a small bbox and with a CQL2 filter, vector tiles of
  the town, the twin snapshot now, zone summaries; heavy: the snapshot at a past
  moment, a tile nobody asked for yet, a raster preview at a new width;
- emergency staff: gauges, alerts, the flood at the current level, each with a
  ``/river/stream`` open for the whole run; heavy: the flood at a level none of the last
  100 asked;
- parking operators: the parking routes, from each process's live lots: every lot
  (``/parking/lots``), one lot with its bays (``/parking/lots/{id}``), the zones'
  totals (``/parking/zones``). Until the lots were held live (``parking/live.py``)
  they asked ``/twin/assets?kind=parking_lot`` instead.

Each user signs in as its group's role (``planner``, ``emergency``, ``parking_operator``)
with an API key of its own, which ``load_test.py`` makes for the run and passes in
``$LOAD_API_KEYS`` (JSON: role -> keys). Every request carries it (``X-API-Key``), the
stream and the public routes too (gauges, the flood, zone summaries, collections): these
users work in signed-in tools (the map page, QGIS with the key configured, a dashboard),
which send their credentials with every request, so no request here is anonymous. Each
user also connects from a loopback address of its own (127.0.0.2, ...), as distinct users
do. The API's rate limits count a signed-in client by its subject, so each user has its
own budget, as in a town where each person has an account.

Each user waits 2-5 s between requests; one request in ten is heavy. Every request's
route, duration and outcome (``None``, or the error) is kept and written as JSON lines
to ``$LOAD_SAMPLES`` when locust stops, for ``load_test.py`` to summarise (percentiles
per route, errors by kind, per step of a ramp). With
``LOAD_RAMP=start,step,every_s,end`` the number of users grows by ``step`` every
``every_s`` seconds.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import gevent
import requests
from locust import HttpUser, LoadTestShape, between, events, task
from requests.adapters import HTTPAdapter

HEAVY_SHARE = 0.1
EPSG_3844 = "http://www.opengis.net/def/crs/EPSG/0/3844"
# The town: lon 24.81-24.92, lat 43.72-43.79 (the demo town at 100,000 parcels).
WEST, SOUTH, EAST, NORTH = 24.812, 43.717, 24.924, 43.786
WARM_TILES = [(15, 18646 + dx, 11946 + dy) for dx in range(3) for dy in range(3)]
_samples: list[tuple[float, str, float, str | None, bool]] = []
_recent_levels: deque[int] = deque(maxlen=100)
"""The flood levels asked last: a "new" level is none of these (the API keeps 16 answers
and 32 extents, so each is computed anew; 300-900 cm has only 601 levels, fewer than a
10-minute run asks)."""
KEY_HEADER = "X-API-Key"


def _user_keys() -> dict[str, Iterator[str]]:
    """The users' API keys, by role, from ``$LOAD_API_KEYS``: each user takes the next."""
    try:
        return {role: iter(keys) for role, keys in json.loads(os.environ["LOAD_API_KEYS"]).items()}
    except (KeyError, ValueError):
        raise SystemExit(
            "LOAD_API_KEYS (JSON: role -> API keys) is not set: run this locustfile through"
            " bench/load_test.py, which makes a key per user"
        ) from None


KEYS = _user_keys()


@events.request.add_listener
def _keep(request_type: str, name: str, response_time: float, exception: Any, **_: Any) -> None:
    error = None if exception is None else str(exception)[:200]
    _samples.append((time.time(), name, response_time, error, name.endswith("*")))


@events.quitting.add_listener
def _write(**_: Any) -> None:
    path = os.environ.get("LOAD_SAMPLES")
    if path:
        with open(path, "w") as out:
            for sample in _samples:
                out.write(json.dumps(sample) + "\n")


def _small_bbox() -> str:
    """A block of the town, about 200 x 200 m."""
    x = random.uniform(WEST, EAST - 0.0025)
    y = random.uniform(SOUTH, NORTH - 0.0018)
    return f"{x:.5f},{y:.5f},{x + 0.0025:.5f},{y + 0.0018:.5f}"


def _cold_tile() -> tuple[int, int, int]:
    """A tile of the town at zoom 15-16 (a few thousand: mostly not cached yet)."""
    z = random.choice((15, 16))
    n = 2**z
    x = int((random.uniform(WEST, EAST) + 180) / 360 * n)
    lat = random.uniform(SOUTH, NORTH)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


_users = itertools.count(2)


class _FromAddress(HTTPAdapter):
    """Connections from one loopback address (any of 127.0.0.0/8 reaches the server)."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The pool, its connections bound to the address."""
        super().init_poolmanager(*args, **kwargs, source_address=(self._address, 0))


class _Hub(HttpUser):
    """A user of the hub; heavy requests are named with a trailing ``*``."""

    abstract = True
    wait_time = between(2, 5)
    role = ""
    """The group's role: each of its users signs in with a key of that role."""

    def on_start(self) -> None:
        """Sign in with the user's own key; connect from the user's own address."""
        self.key = next(KEYS[self.role])
        self.client.headers[KEY_HEADER] = self.key
        k = next(_users)
        self.client.mount("http://", _FromAddress(f"127.0.{k // 250}.{k % 250 + 1}"))

    def heavy(self) -> bool:
        """Whether this request is the heavy one of ten."""
        return random.random() < HEAVY_SHARE

    def get(self, path: str, name: str, **params: Any) -> None:
        """GET ``path``, its body read, named ``name`` in the statistics."""
        with self.client.get(path, params=params, name=name, catch_response=True) as answer:
            if answer.status_code == 0:  # no answer: the connection failed
                answer.failure(f"no answer: {answer.error!r}")
            elif answer.status_code != 200:
                answer.failure(f"{answer.status_code}: {answer.text[:200]}")


class Planner(_Hub):
    """An urban planner exploring layers and the twin."""

    weight = 2
    role = "planner"

    @task
    def explore(self) -> None:
        """One question: mostly light, one in ten heavy."""
        if self.heavy():
            kind = random.choice(("past", "tile", "preview"))
            if kind == "past":
                moment = datetime.now(UTC) - timedelta(minutes=random.randint(10, 23 * 60))
                self.get("/twin/snapshot", "snapshot at a past moment *", at=moment.isoformat())
            elif kind == "tile":
                z, x, y = _cold_tile()
                self.get(f"/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}", "cold tile *")
            else:
                width = random.randint(64, 2048)
                self.get("/rasters/terrain/preview.png", "preview *", width=width)
            return
        kind = random.choice(("collections", "bbox", "filter", "tile", "snapshot", "zones"))
        if kind == "collections":
            self.get("/collections", "collections")
        elif kind == "bbox":
            self.get("/collections/parcels/items", "items bbox", bbox=_small_bbox(), limit=100)
        elif kind == "filter":
            self.get(
                "/collections/parcels/items",
                "items filter",
                bbox=_small_bbox(),
                filter="land_use = 'N' AND area_m2 > 30",
                limit=100,
            )
        elif kind == "tile":
            z, x, y = random.choice(WARM_TILES)
            self.get(f"/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}", "warm tile")
        elif kind == "snapshot":
            self.get("/twin/snapshot", "snapshot now")
        else:
            self.get("/twin/zones", "zones")


class Emergency(_Hub):
    """Emergency staff watching the Danube, with the alert stream open."""

    weight = 1
    role = "emergency"

    def on_start(self) -> None:
        """Sign in and open the user's ``/river/stream`` for the rest of the run."""
        super().on_start()
        self._stream = gevent.spawn(self._listen)

    def on_stop(self) -> None:
        """Close the stream."""
        self._stream.kill()

    def _listen(self) -> None:
        started = time.perf_counter()
        try:
            with requests.get(
                f"{self.host}/river/stream",
                headers={KEY_HEADER: self.key},
                stream=True,
                timeout=None,
            ) as stream:
                stream.raise_for_status()  # a refused stream is an error, not silence
                for line in stream.iter_lines():
                    if line == b"event: ready":
                        events.request.fire(
                            request_type="SSE",
                            name="river stream (to ready)",
                            response_time=(time.perf_counter() - started) * 1000,
                            response_length=0,
                            exception=None,
                        )
        except requests.RequestException as exc:
            events.request.fire(
                request_type="SSE",
                name="river stream (to ready)",
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                exception=exc,
            )

    @task
    def watch(self) -> None:
        """One look: gauges, alerts, the flood now; one in ten a new level."""
        if self.heavy():
            level = random.randint(300, 900)
            while level in _recent_levels:
                level = random.randint(300, 900)
            _recent_levels.append(level)
            self.get("/river/flood", "flood at a new level *", level_cm=level)
            return
        kind = random.choice(("gauges", "alerts", "flood"))
        if kind == "gauges":
            self.get("/river/gauges", "gauges")
        elif kind == "alerts":
            self.get("/river/alerts", "alerts", state="open")
        else:
            self.get("/river/flood", "flood at the current level")


class ParkingOperator(_Hub):
    """A parking operator checking the lots."""

    weight = 1
    role = "parking_operator"

    lot_ids: ClassVar[list[str]] = []
    """The town's lots, read by the first operator to start."""

    def on_start(self) -> None:
        """Sign in; learn the town's lots if no operator has yet."""
        super().on_start()
        if not ParkingOperator.lot_ids:
            answer = self.client.get("/parking/lots", name="parking lots")
            if answer.status_code == 200:
                ParkingOperator.lot_ids = [lot["lot_id"] for lot in answer.json()["lots"]]

    @task(2)
    def lots(self) -> None:
        """Every lot with its occupancy."""
        self.get("/parking/lots", "parking lots")

    @task(2)
    def lot(self) -> None:
        """One lot with its bays and latest actions."""
        if ParkingOperator.lot_ids:
            lot_id = random.choice(ParkingOperator.lot_ids)
            self.get(f"/parking/lots/{lot_id}", "parking lot")

    @task
    def zones(self) -> None:
        """Totals by urbanism and paid parking zone."""
        self.get("/parking/zones", "parking zones")


if os.environ.get("LOAD_RAMP"):

    class Ramp(LoadTestShape):
        """Users from ``start``, ``step`` more every ``every_s`` seconds, up to ``end``."""

        def tick(self) -> tuple[int, float] | None:
            """The users wanted now, and how fast to start them."""
            start, step, every_s, end = (int(v) for v in os.environ["LOAD_RAMP"].split(","))
            users = start + step * int(self.get_run_time() // every_s)
            return None if users > end else (users, step / 5)
