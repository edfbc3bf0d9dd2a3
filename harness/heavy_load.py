"""Heavy requests, several at once, against a live API, with the memory of its processes
sampled meanwhile: the memory test (``tests/api/test_memory.py``) and benchmark
(``bench/memory_bench.py``) share it.

Each client asks, one after another until the time is up, a random heavy request of the
town: a raster preview at any width, a terrain window (native or reprojected), the twin
at a past moment, the flood and its depth at a level, a vector tile. The sampler reads
the resident memory (RSS) of the server and of every process below it (API workers,
their helpers) with psutil.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import psutil

KINDS = ("preview", "window", "window 4326", "past snapshot", "flood", "depth", "tile")


@dataclass(frozen=True)
class Town:
    """Where the requests look: the terrain's extent (CRS84 and native) and the
    flood levels (cm) to pick from."""

    bbox_crs84: tuple[float, float, float, float]
    bbox_native: tuple[float, float, float, float]
    levels: tuple[int, int] = (300, 900)

    @classmethod
    def of(cls, client: httpx.Client) -> Town:
        """The town the API serves (its ``terrain`` raster)."""
        terrain = client.get("/rasters/terrain").raise_for_status().json()
        bbox_crs84: tuple[float, float, float, float] = tuple(terrain["bbox_crs84"])  # type: ignore[assignment]
        bbox_native: tuple[float, float, float, float] = tuple(terrain["bbox"])  # type: ignore[assignment]
        return cls(bbox_crs84, bbox_native)


def _box(rng: random.Random, bbox: tuple[float, float, float, float]) -> str:
    """A random box inside ``bbox``, from a tenth of its side to all of it."""
    minx, miny, maxx, maxy = bbox
    share = rng.uniform(0.1, 1.0)
    width, height = (maxx - minx) * share, (maxy - miny) * share
    x, y = rng.uniform(minx, maxx - width), rng.uniform(miny, maxy - height)
    return f"{x},{y},{x + width},{y + height}"


def _tile(rng: random.Random, bbox: tuple[float, float, float, float]) -> str:
    z = rng.randint(13, 17)
    n = 2**z
    lon, lat = rng.uniform(bbox[0], bbox[2]), rng.uniform(bbox[1], bbox[3])
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/collections/parcels/tiles/WebMercatorQuad/{z}/{row}/{col}"


def request(rng: random.Random, town: Town, kind: str) -> tuple[str, dict[str, str]]:
    """A heavy request of ``kind``: path and query."""
    level = str(rng.randint(*town.levels))
    if kind == "preview":
        return "/rasters/terrain/preview.png", {"width": str(rng.randint(16, 2048))}
    if kind == "window":
        return "/rasters/terrain/window", {"bbox": _box(rng, town.bbox_native)}
    if kind == "window 4326":
        return "/rasters/terrain/window", {"bbox": _box(rng, town.bbox_crs84), "crs": "CRS84"}
    if kind == "past snapshot":
        moment = datetime.now(UTC) - timedelta(minutes=rng.randint(1, 24 * 60))
        return "/twin/snapshot", {"at": moment.isoformat()}
    if kind == "flood":
        return "/river/flood", {"level_cm": level}
    if kind == "depth":
        return "/river/flood/depth.tif", {"level_cm": level}
    if kind == "tile":
        return _tile(rng, town.bbox_crs84), {}
    raise ValueError(f"unknown kind {kind!r}: one of {KINDS}")


def rss_by_process(pid: int) -> dict[str, float]:
    """Resident memory (MiB) of a process and each process below it, by ``pid: name``."""
    parent = psutil.Process(pid)
    found: dict[str, float] = {}
    for proc in (parent, *parent.children(recursive=True)):
        try:
            name = " ".join(proc.cmdline()[1:4]) or proc.name()
            found[f"{proc.pid}: {name}"] = proc.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return found


@dataclass
class Report:
    """What a run saw: memory samples (seconds, MiB by process) and answers by kind."""

    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def totals(self) -> list[float]:
        """The whole tree's RSS at each sample, MiB."""
        return [sum(by_process.values()) for _, by_process in self.samples]

    def summary(self) -> dict[str, object]:
        """Totals at start, peak and end; peaks per third of the run; answers."""
        totals = self.totals()
        third = max(1, len(totals) // 3)
        return {
            "samples": len(totals),
            "rss_mib_start": round(totals[0]),
            "rss_mib_peak": round(max(totals)),
            "rss_mib_end": round(totals[-1]),
            "rss_mib_peak_by_third": [
                round(max(totals[k * third : (k + 1) * third] or totals[-1:])) for k in range(3)
            ],
            "rss_mib_end_by_process": {k: round(v) for k, v in self.samples[-1][1].items()},
            "answers": {f"{k} {status}": n for (k, status), n in sorted(self.answers.items())},
            "failures": self.failures[:10],
        }


def _client_loop(
    url: str,
    headers: dict[str, str],
    town: Town,
    seed: int,
    kinds: tuple[str, ...],
    stop: threading.Event,
    report: Report,
) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=600, headers=headers) as client:
        while not stop.is_set():
            kind = rng.choice(kinds)
            path, params = request(rng, town, kind)
            try:
                with client.stream("GET", path, params=params) as answer:
                    for _ in answer.iter_raw():
                        pass
                report.answers[kind, answer.status_code] += 1
            except httpx.HTTPError as exc:
                report.failures.append(f"{kind}: {exc!r}")


def run(
    url: str,
    server_pid: int,
    seconds: float,
    clients: int = 8,
    kinds: tuple[str, ...] = KINDS,
    sample_s: float = 2.0,
    seed: int = 42,
    headers: dict[str, str] | None = None,
) -> Report:
    """``clients`` clients asking heavy requests for ``seconds``, signed in with
    ``headers``; RSS every ``sample_s``."""
    report = Report()
    signed = dict(headers or {})
    with httpx.Client(base_url=url, timeout=60, headers=signed) as client:
        town = Town.of(client)
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_client_loop, args=(url, signed, town, seed + k, kinds, stop, report)
        )
        for k in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            report.samples.append((round(elapsed, 1), rss_by_process(server_pid)))
            time.sleep(sample_s)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    report.samples.append((round(time.monotonic() - started, 1), rss_by_process(server_pid)))
    return report
