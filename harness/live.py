"""A live API server for tests that need real HTTP (browsers, GDAL, OWSLib)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from hub.broker import free_port, port_answers

START_S = 90.0
"""How long a server may take to listen before the harness gives up (a bound for a stuck
server; on a loaded machine a start can take half a minute and more)."""


def _wait_until_listening(port: int) -> None:
    deadline = time.monotonic() + START_S
    while not port_answers("127.0.0.1", port):
        assert time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.1)


@contextmanager
def live_server(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` from a thread on a loopback port (``port``, or a free one); yield its
    base URL. A port chosen beforehand lets the app's settings name its own URL.

    Only for clients in other processes: an in-process client that holds the GIL
    while it waits for the answer (GDAL through pyogrio) would wait forever.
    """
    port = free_port() if port is None else port
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    _wait_until_listening(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(10)


def serve_env(database_url: str, port: int) -> dict[str, str]:
    """The environment ``smartcity serve`` needs to serve ``database_url`` on a loopback
    port, free of any ``SMARTCITY_*`` setting of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")}
    return env | {
        "SMARTCITY_DATABASE_URL": database_url,
        "SMARTCITY_HTTP_HOST": "127.0.0.1",
        "SMARTCITY_HTTP_PORT": str(port),
    }


@contextmanager
def served(
    database_url: str,
    access_log: Path | None = None,
    workers: int = 1,
    settings: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """``smartcity serve --workers N`` as its own process on a free loopback port; yield
    its base URL.

    With ``access_log``, every request the server answers is logged to that file;
    ``settings`` are more ``SMARTCITY_*`` variables for it.
    """
    with serving(database_url, access_log, workers, settings) as (url, _):
        yield url


@contextmanager
def serving(
    database_url: str,
    access_log: Path | None = None,
    workers: int = 1,
    settings: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`served`, yielding the server's process too (to watch its memory)."""
    port = free_port()
    env = serve_env(database_url, port) | dict(settings or {})
    output = None
    if access_log is not None:
        env["SMARTCITY_ACCESS_LOG"] = "true"
        output = access_log.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--workers", str(workers)],
        env=env,
        stdout=output,
        stderr=output,
    )
    try:
        _wait_until_listening(port)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.terminate()
        server.wait(20)
        if output is not None:
            output.close()
