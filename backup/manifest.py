"""A backup's manifest (``smartcity-backup.json``): what it holds, and the check of it.

It names the hub and schema versions, when it was made, the database (server version,
size, extensions, the tool that dumped it), where each raster and the river
configuration lived, and every file with its size and SHA-256. :func:`read_checked`
refuses a backup whose files are missing, altered or not listed: the checksums catch a
damaged or incomplete copy (a disk, a transfer, a hand), not a forger who rewrites the
manifest too; keep backups where only their operators can write.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import BaseModel, ValidationError

from backup.errors import RestoreRefused

NAME = "smartcity-backup.json"
FORMAT = "smartcity-backup/1"
_CHUNK = 1 << 20

RowsAs = Literal["copy", "insert"]
"""How a dump holds the tables' rows (:attr:`DatabaseFacts.rows_as`)."""


class Migration(BaseModel):
    """A schema migration applied to the database backed up."""

    version: int
    name: str
    variant: str


class DatabaseFacts(BaseModel):
    """The database as it was dumped."""

    dump: str
    """The dump's path in the backup."""
    server_version: str
    size_bytes: int
    extensions: dict[str, str]
    migrations: list[Migration]
    dump_tool: str
    dump_tool_major: int
    rows_as: RowsAs = "copy"
    """How the dump holds the tables' rows: ``COPY`` data (the fast way), or ``INSERT``
    statements, which a server that cannot take ``COPY ... FROM STDIN`` loads too."""


class CarriedFile(BaseModel):
    """A file the hub keeps outside its data directory, and its copy in the backup
    (None when the file was already gone when the backup was made)."""

    original: str
    stored: str | None


class FileEntry(BaseModel):
    """One file of the backup."""

    path: str
    size: int
    sha256: str


class Manifest(BaseModel):
    """What a backup holds."""

    format: str = FORMAT
    hub_version: str
    created_at: datetime
    database: DatabaseFacts
    rasters: dict[str, CarriedFile]
    river_config: CarriedFile | None
    files: list[FileEntry]


def _hashed(source: Path, sink: BinaryIO | None) -> tuple[int, str]:
    """Size and SHA-256 of ``source``, written to ``sink`` as it is read."""
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
    return size, digest.hexdigest()


def copy_in(source: Path, root: Path, path: str) -> FileEntry:
    """Copy ``source`` to ``root / path`` (a new file; its folders made) and hash what
    was copied: the file's entry."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("xb") as sink:
        size, digest = _hashed(source, sink)
    return FileEntry(path=path, size=size, sha256=digest)


def entry_of(root: Path, path: str) -> FileEntry:
    """The entry of the file ``root / path`` as it is now."""
    size, digest = _hashed(root / path, None)
    return FileEntry(path=path, size=size, sha256=digest)


def write(root: Path, manifest: Manifest) -> None:
    """Write the manifest into the backup (last: a backup without one is unfinished)."""
    (root / NAME).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")


def read_checked(root: Path) -> Manifest:
    """The manifest of the backup at ``root``, once every file it lists is there with
    its size and checksum and no other file is; else :class:`RestoreRefused`."""
    if not (root / NAME).is_file():
        raise RestoreRefused(f"{root} is not a hub backup, or an unfinished one: it has no {NAME}")
    try:
        manifest = Manifest.model_validate_json((root / NAME).read_bytes())
    except ValidationError as exc:
        raise RestoreRefused(f"{root / NAME} is not a valid manifest: {exc}") from None
    if manifest.format != FORMAT:
        raise RestoreRefused(
            f"{root} is a backup of format {manifest.format!r}; this hub reads {FORMAT!r}"
        )
    listed = {f.path for f in manifest.files}
    present = {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != NAME
    }
    if missing := sorted(listed - present):
        raise RestoreRefused(f"the backup is incomplete: missing {_some(missing)}")
    if extra := sorted(present - listed):
        raise RestoreRefused(f"the backup holds files its manifest does not list: {_some(extra)}")
    for expected in manifest.files:
        if entry_of(root, expected.path) != expected:
            raise RestoreRefused(
                f"the backup was altered or damaged: {expected.path} does not match its"
                " size and checksum in the manifest"
            )
    return manifest


def _some(paths: list[str], shown: int = 5) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more
