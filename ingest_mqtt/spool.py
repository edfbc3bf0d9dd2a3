"""A bounded, ordered disk spool for batches that could not be committed.

When PostgreSQL is unreachable the worker writes each batch of raw messages here and
acknowledges them: the spool, not the broker, then holds them. Each batch is one file,
written to a temporary name, flushed to disk and renamed, so a crash leaves either the
whole batch or nothing. Batches are replayed oldest first when the database returns,
through the same decoding and idempotent writes as live traffic.

The file format is a sequence of records, each ``!HIdq`` (topic length, payload length,
received-at POSIX time, reserved) followed by the topic and payload bytes. It is
written by hand because it is six lines and needs nothing but ``struct``.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ingest_mqtt.decode import Incoming

_HEADER = struct.Struct("!HIdq")
_SUFFIX = ".batch"


class SpoolFull(RuntimeError):
    """The spool has reached its size limit; the caller must stop acknowledging."""


class Spool:
    """Batches of raw messages on disk, in arrival order, up to ``max_bytes`` in total."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("*.tmp"):  # a batch whose write was interrupted
            leftover.unlink()
        # Listed once: the worker asks for the oldest batch before every commit, so the
        # directory is not read again on that path.
        self._pending = deque(sorted(directory.glob(f"*{_SUFFIX}")))
        self._next = int(self._pending[-1].stem) + 1 if self._pending else 0
        self._bytes = sum(f.stat().st_size for f in self._pending)

    @property
    def size_bytes(self) -> int:
        """Bytes currently spooled."""
        return self._bytes

    @property
    def batches(self) -> int:
        """Batches currently spooled."""
        return len(self._pending)

    def append(self, messages: Sequence[Incoming]) -> Path:
        """Write one batch durably; raise :class:`SpoolFull` if it would exceed the limit."""
        chunks: list[bytes] = []
        for m in messages:
            topic = m.topic.encode()
            chunks += [
                _HEADER.pack(len(topic), len(m.payload), m.received_at.timestamp(), 0),
                topic,
                m.payload,
            ]
        data = b"".join(chunks)
        if self._bytes + len(data) > self.max_bytes:
            raise SpoolFull(
                f"spool at {self._bytes} bytes cannot take {len(data)} more"
                f" (limit {self.max_bytes})"
            )
        final = self.directory / f"{self._next:020d}{_SUFFIX}"
        temporary = final.with_suffix(".tmp")
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(final)
        self._pending.append(final)
        self._next += 1
        self._bytes += len(data)
        return final

    def oldest(self) -> tuple[Path, list[Incoming]] | None:
        """The oldest spooled batch and its messages (acknowledgement ids are not kept)."""
        if not self._pending:
            return None
        return self._pending[0], list(_read(self._pending[0]))

    def remove(self, path: Path) -> None:
        """Forget a batch once it is committed."""
        size = path.stat().st_size
        path.unlink()
        self._pending.remove(path)
        self._bytes -= size


def _read(path: Path) -> Iterator[Incoming]:
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        topic_len, payload_len, received, _ = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        topic = data[offset : offset + topic_len].decode()
        offset += topic_len
        payload = data[offset : offset + payload_len]
        offset += payload_len
        yield Incoming(topic, payload, 0, 0, datetime.fromtimestamp(received, UTC))
