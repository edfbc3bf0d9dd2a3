"""Real servers written in Node.js for the tests: install their pinned npm packages, start
them on a loopback port, stop them.

Each server lives in a folder of ``tests/`` with its ``package.json``, ``package-lock.json``
and a script that prints exactly one line ``READY <port>`` to stdout once it accepts
connections (everything else goes to stderr) and exits on SIGTERM.
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import time
from pathlib import Path
from typing import IO

READY_TIMEOUT_S = 60.0
NPM_CI_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 10.0


class NodeServerUnavailable(RuntimeError):
    """A Node.js test server cannot be installed here; the message says why."""


def tool(name: str, needed_for: Path) -> str:
    """The path of ``node`` or ``npm``; NodeServerUnavailable if it is not on PATH."""
    path = shutil.which(name)
    if path is None:
        raise NodeServerUnavailable(
            f"`{name}` not found on PATH: Node.js with npm is needed for the test server in "
            f"{needed_for.relative_to(needed_for.parent.parent)}"
        )
    return path


def tail(text: str, lines: int = 20) -> str:
    """The last ``lines`` lines of ``text``, for error messages."""
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_installed(server_dir: Path) -> None:
    """Run ``npm ci`` in ``server_dir`` unless a completed install is present.

    npm writes ``node_modules/.package-lock.json`` at the end of an install, so a half-done
    one is redone too.
    """
    if (server_dir / "node_modules" / ".package-lock.json").is_file():
        return
    npm = tool("npm", server_dir)
    command = [npm, "ci", "--prefix", str(server_dir), "--quiet", "--no-audit", "--no-fund"]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=NPM_CI_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise NodeServerUnavailable(
            f"`npm ci --prefix {server_dir}` did not finish in {NPM_CI_TIMEOUT_S:.0f} s"
        ) from exc
    if result.returncode != 0:
        raise NodeServerUnavailable(
            f"`npm ci --prefix {server_dir}` failed with exit code {result.returncode}:\n"
            + tail(result.stderr or result.stdout)
        )


def start(script: Path, args: list[str], stderr: IO[str]) -> tuple[subprocess.Popen[str], int]:
    """Start ``node script *args`` and wait for its ``READY <port>`` line.

    ``stderr`` (a file opened ``w+``) receives the server's log. Returns the process and the
    port; raises RuntimeError with the server's log if it exits or stays silent for
    ``READY_TIMEOUT_S`` (the process is stopped then).
    """
    node = tool("node", script.parent)
    ensure_installed(script.parent)
    process = subprocess.Popen(
        [node, str(script), *args], stdout=subprocess.PIPE, stderr=stderr, text=True
    )
    try:
        return process, _read_port(process, stderr, script.name)
    except BaseException:
        stop(process)
        raise


def _read_port(process: subprocess.Popen[str], stderr: IO[str], name: str) -> int:
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
    raise RuntimeError(f"test server {name} {failure}:\n{tail(stderr.read())}")


def stop(process: subprocess.Popen[str]) -> None:
    """Stop a server started by :func:`start` (SIGTERM, then SIGKILL after a grace time)."""
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
