"""A cached view of the device registry for the worker, refreshed as devices are added."""

from __future__ import annotations

import time
from collections.abc import Callable

REFRESH_S = 10.0
UNKNOWN_DEVICE_REFRESH_S = 1.0


class RegistryCache:
    """Device id to allowed quantities, reloaded periodically or when an unknown id appears."""

    def __init__(self, load: Callable[[], dict[str, frozenset[str]]]) -> None:
        self._load = load
        self._devices = load()
        self._loaded_at = time.monotonic()

    def _reload(self) -> None:
        self._devices = self._load()
        self._loaded_at = time.monotonic()

    def refresh_if_stale(self) -> None:
        """Reload when the cache is older than :data:`REFRESH_S`."""
        if time.monotonic() - self._loaded_at > REFRESH_S:
            self._reload()

    def quantities_of(self, device_id: str) -> frozenset[str] | None:
        """The device's quantities, or None if it is not registered."""
        found = self._devices.get(device_id)
        if found is None and time.monotonic() - self._loaded_at > UNKNOWN_DEVICE_REFRESH_S:
            self._reload()
            found = self._devices.get(device_id)
        return found
