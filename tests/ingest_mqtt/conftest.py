"""A directory every user may enter, for a broker that switches users when started as root."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A new directory under the system's temporary one that any user may enter (pytest's
    own are private to their owner); only for root, who can give files away."""
    if os.geteuid() != 0:
        pytest.skip("only root gives files to the user a broker switches to")
    directory = Path(tempfile.mkdtemp(prefix="smartcity-broker-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)
