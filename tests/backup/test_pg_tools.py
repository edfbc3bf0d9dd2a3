"""The client tools picked for a server: its own major version where the machine has
it, never an older one; and a clear refusal where none fits."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from backup import pg_tools
from backup.errors import ToolMissing
from storage.embedded import BIN_DIR


def test_the_tools_of_the_servers_own_version_are_picked(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        major = conn.info.server_version // 10000
    tools = pg_tools.find(major)
    assert tools.major == major
    assert pg_tools.major_version(tools.bin_dir) == major
    if major == pg_tools.major_version(BIN_DIR):
        assert tools.bin_dir == BIN_DIR  # the embedded server's own


def test_no_tool_is_older_than_the_server() -> None:
    with pytest.raises(ToolMissing, match="no pg_dump/pg_restore of PostgreSQL 99 or newer"):
        pg_tools.find(99)


def test_a_configured_folder_without_the_tools_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match=f"in {tmp_path} .*SMARTCITY_PG_BIN_DIR"):
        pg_tools.find(15, tmp_path)


def test_the_password_goes_through_the_environment_not_the_command_line() -> None:
    conninfo, env = pg_tools._libpq("postgresql://hub:s3cret@db.example:5433/city")
    assert "s3cret" not in conninfo
    assert env["PGPASSWORD"] == "s3cret"
    assert "host=db.example" in conninfo and "port=5433" in conninfo
