"""Which datasets are public: an administrator's decision per dataset, stored in
``opendata_publication`` (layers: their own ``public`` flag)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection

from gis_layers import catalogue
from gis_layers.catalogue import Layer
from opendata.datasets import BUILT_IN, LAYER_PREFIX, NEVER, Dataset, built_in, layer_of
from opendata.errors import DatasetNotFound, NeverPublic


@dataclass(frozen=True)
class Published:
    """What the catalogue lists: the public built-in datasets and public layers, and
    when the newest of their publication decisions or imports was made."""

    datasets: tuple[Dataset, ...]
    layers: tuple[Layer, ...]
    changed_at: datetime | None


async def _decisions(conn: AsyncConnection) -> dict[str, tuple[bool, datetime]]:
    rows = await (
        await conn.execute("SELECT dataset_id, public, changed_at FROM opendata_publication")
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


async def published(conn: AsyncConnection) -> Published:
    """Every public dataset, built-in ones first, then layers by id."""
    decided = await _decisions(conn)
    datasets = tuple(d for d in BUILT_IN if decided.get(d.dataset_id, (d.default_public, None))[0])
    layers = tuple(layer for layer in await catalogue.all_layers(conn) if layer.public)
    times = [at for _, at in decided.values()] + [layer.imported_at for layer in layers]
    return Published(datasets, layers, max(times, default=None))


async def public_dataset(conn: AsyncConnection, dataset_id: str) -> Dataset | Layer:
    """The public dataset ``dataset_id``; :class:`DatasetNotFound` for one that does not
    exist or is not public (the two are not told apart)."""
    missing = DatasetNotFound(f"no public dataset {dataset_id!r}; see /opendata/catalog.jsonld")
    layer_id = layer_of(dataset_id)
    if layer_id is not None:
        found = await catalogue.all_layers(conn)
        layer = next((x for x in found if x.layer_id == layer_id and x.public), None)
        if layer is None:
            raise missing
        return layer
    dataset = built_in(dataset_id)
    if dataset is None:
        raise missing
    decided = await _decisions(conn)
    if not decided.get(dataset_id, (dataset.default_public, None))[0]:
        raise missing
    return dataset


async def set_public(
    conn: AsyncConnection, dataset_id: str, public: bool, changed_by: str | None
) -> None:
    """Publish ``dataset_id`` (or withdraw it); :class:`NeverPublic` (409) for what the
    hub never publishes, :class:`DatasetNotFound` for an unknown id."""
    if dataset_id in NEVER:
        raise NeverPublic(f"{dataset_id!r} is never published: {NEVER[dataset_id]}")
    layer_id = layer_of(dataset_id)
    async with conn.transaction():
        if layer_id is not None:
            row = await (
                await conn.execute(
                    "UPDATE layers SET public = %s WHERE layer_id = %s RETURNING layer_id",
                    (public, layer_id),
                )
            ).fetchone()
            if row is None:
                raise DatasetNotFound(
                    f"no layer {layer_id!r}; datasets of layers are named {LAYER_PREFIX}<layer id>"
                )
            return
        if built_in(dataset_id) is None:
            known = ", ".join(d.dataset_id for d in BUILT_IN)
            raise DatasetNotFound(
                f"no dataset {dataset_id!r}; the hub's are {known} and {LAYER_PREFIX}<layer id>"
            )
        await conn.execute(
            "INSERT INTO opendata_publication (dataset_id, public, changed_by)"
            " VALUES (%s, %s, %s) ON CONFLICT (dataset_id) DO UPDATE"
            " SET public = excluded.public, changed_at = now(), changed_by = excluded.changed_by",
            (dataset_id, public, changed_by),
        )


async def states(conn: AsyncConnection) -> list[tuple[str, bool, str]]:
    """Every dataset with whether it is public and why (default, decided, layer flag)."""
    decided = await _decisions(conn)
    rows: list[tuple[str, bool, str]] = []
    for d in BUILT_IN:
        if d.dataset_id in decided:
            public, at = decided[d.dataset_id]
            rows.append((d.dataset_id, public, f"decided {at:%Y-%m-%d %H:%M}"))
        else:
            rows.append((d.dataset_id, d.default_public, "default"))
    for layer in await catalogue.all_layers(conn):
        rows.append((LAYER_PREFIX + layer.layer_id, layer.public, "layer flag"))
    return rows
