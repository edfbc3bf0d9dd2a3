"""A real TimescaleDB engine for the tests, without a system PostgreSQL.

``timescale_server()`` runs ``tests/timescale/server.mjs``: PGlite (PostgreSQL 17 compiled to
WASM, with TimescaleDB) served over the PostgreSQL wire protocol by pglite-socket. It needs
Node.js and npm; the pinned npm packages are installed with ``npm ci`` on first use. The data
lives in memory and is gone when the server stops.

The server is a single backend: one client at a time, further connections wait until the
active one disconnects, and each client starts from a reset session but sees all committed
data. Any user name, password and database name are accepted (a password must be sent).
``COPY ... FROM STDIN`` crashes it; use multi-row ``INSERT`` or ``executemany``.
"""

from __future__ import annotations

import contextlib
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

SERVER_DIR = Path(__file__).resolve().parent / "timescale"
READY_TIMEOUT_S = 60.0
NPM_CI_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 10.0


class TimescaleUnavailable(RuntimeError):
    """The TimescaleDB test server cannot be installed here; the message says why."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise TimescaleUnavailable(
            f"`{name}` not found on PATH: Node.js with npm is needed for the TimescaleDB "
            "test server (tests/timescale)"
        )
    return path


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _ensure_installed(npm: str) -> None:
    """Run ``npm ci`` unless a completed install is present.

    npm writes ``node_modules/.package-lock.json`` at the end of an install, so a half-done
    one is redone too.
    """
    if (SERVER_DIR / "node_modules" / ".package-lock.json").is_file():
        return
    command = [npm, "ci", "--prefix", str(SERVER_DIR), "--quiet", "--no-audit", "--no-fund"]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=NPM_CI_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise TimescaleUnavailable(
            f"`npm ci --prefix {SERVER_DIR}` did not finish in {NPM_CI_TIMEOUT_S:.0f} s"
        ) from exc
    if result.returncode != 0:
        raise TimescaleUnavailable(
            f"`npm ci --prefix {SERVER_DIR}` failed with exit code {result.returncode}:\n"
            + _tail(result.stderr or result.stdout)
        )


def _read_port(process: subprocess.Popen[str], stderr: IO[str]) -> int:
    """Wait for the server's ``READY <port>`` line and return the port.

    Raises RuntimeError with the server's stderr if it exits or stays silent for
    ``READY_TIMEOUT_S``.
    """
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    failure = f"did not report READY within {READY_TIMEOUT_S:.0f} s"
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                continue
            line = process.stdout.readline()
            if line.startswith("READY "):
                return int(line.split()[1])
            if not line:  # stdout closed: the server is exiting
                failure = f"exited with code {process.wait(STOP_TIMEOUT_S)}"
                break
    stderr.seek(0)
    raise RuntimeError(f"TimescaleDB test server {failure}:\n{_tail(stderr.read())}")


@contextlib.contextmanager
def timescale_server() -> Iterator[str]:
    """Start the TimescaleDB test server on a free loopback port and yield its psycopg URL.

    Raises TimescaleUnavailable if node or npm is missing or ``npm ci`` fails, and
    RuntimeError if the installed server does not start. The server is stopped on exit.
    """
    node = _tool("node")
    _ensure_installed(_tool("npm"))
    with tempfile.TemporaryFile("w+") as stderr:
        # Port 0: the server binds a free port itself and reports it, so no race for it.
        process = subprocess.Popen(
            [node, str(SERVER_DIR / "server.mjs"), "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            port = _read_port(process, stderr)
            yield f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres"
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            assert process.stdout is not None
            process.stdout.close()
