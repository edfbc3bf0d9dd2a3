"""Debian's Chromium, headless and offline, driven over the Chrome DevTools Protocol (CDP)
as the map tests and the map bench drive it.

The hub's pages need a signed-in user: :func:`sign_in` types an account's name and
password into the hub's login page and presses its button, as a person does (Input
events, not a request made behind the page's back), so the browser holds the session
cookie the login page sets. :meth:`CDP.settle` gives a page the time Chromium's
``--virtual-time-budget`` gives it (the command-line switches cannot sign in).
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect
from websockets.sync.connection import Connection

CHROMIUM = shutil.which("chromium")
WINDOW = (1200, 800)
# what Chromium's own --virtual-time-budget sets (components/headless/command_handler)
STARVATION_COUNT = 9999
CAPTURE_STALL_S = 30
"""How long a capture under still virtual time is waited for before time is let run: a
stalled one has never answered later (in a full test run of the eighth session the
/map render test took 92 s against 13 s alone: one full 60 s wait fits that), and one
merely slow on two busy cores should not be taken for stalled (time let run moves the
page's timers)."""


def command(profile: Path, width: int = WINDOW[0], height: int = WINDOW[1]) -> list[str]:
    """Chromium with its own profile, software WebGL and no network but loopback (every
    other host is unreachable: the map must need no CDN); add the URL and extra flags."""
    return [
        CHROMIUM or "/usr/bin/chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        # software WebGL on a busy 2-core machine can outlast the GPU watchdog, which then
        # ends the browser mid-test (seen with three test workers at once)
        "--disable-gpu-watchdog",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        f"--window-size={width},{height}",
    ]


class CDP:
    """A DevTools Protocol session on one page target; keeps the events it receives."""

    def __init__(self, socket: Connection) -> None:
        """Wrap an open websocket to a page target."""
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        """Events received and not yet taken by :meth:`wait_event`."""
        self.log: list[dict[str, Any]] = []
        """Every event received, for :meth:`messages`."""
        self._ids = itertools.count(1)
        self._reported = 0

    def _receive(self, deadline: float) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(
            self.socket.recv(max(0.1, deadline - time.monotonic()))
        )
        if "method" in message:
            self.log.append(message)
        return message

    def call(self, method: str, timeout: float = 60, **params: object) -> dict[str, Any]:
        """Send a command and return its result, keeping events that arrive meanwhile."""
        ident = next(self._ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_event(self, method: str, timeout: float = 60) -> dict[str, Any]:
        """The next event named ``method`` (or one already received and not yet taken)."""
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("method") == method:
                return message
            self.events.append(message)

    def forget(self, method: str) -> None:
        """Drop events named ``method`` not yet taken (before waiting for a new one)."""
        self.events = [e for e in self.events if e.get("method") != method]

    def evaluate(self, expression: str, timeout: float = 120) -> Any:
        """Evaluate ``expression`` in the page, await it, return its JSON value."""
        result = self.call(
            "Runtime.evaluate",
            timeout=timeout + 10,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"page script failed: {text}")
        return result["result"].get("value")

    def navigate(self, url: str, timeout: float = 120) -> str:
        """Open ``url`` as typed in the address bar; once the page has loaded (its
        ``load`` event), the address it ended at (after redirects)."""
        self.forget("Page.loadEventFired")
        opened = self.call("Page.navigate", url=url)
        if "errorText" in opened:
            raise RuntimeError(f"{url}: {opened['errorText']}")
        self.wait_event("Page.loadEventFired", timeout)
        return self.location()

    def location(self) -> str:
        """The page's address now."""
        return str(self.evaluate("location.href"))

    def click(self, selector: str) -> None:
        """Press and release the mouse on the middle of the element ``selector``."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    def type_into(self, selector: str, text: str) -> None:
        """Click the field ``selector`` and type ``text`` into it."""
        self.click(selector)
        self.call("Input.insertText", text=text)

    def settle(self, budget_ms: int, timeout: float = 300) -> None:
        """Let the page run ``budget_ms`` of virtual time, as ``--virtual-time-budget``
        does: virtual time stands still while any fetch is pending and jumps ahead when
        only timers are waiting. Afterwards it stands still for good (there is no way
        back to real time: ``advance`` races ahead): look at the page, read it; open
        another page in a new browser."""
        self.forget("Emulation.virtualTimeBudgetExpired")
        self.call(
            "Emulation.setVirtualTimePolicy",
            policy="pauseIfNetworkFetchesPending",
            budget=budget_ms,
            maxVirtualTimeTaskStarvationCount=STARVATION_COUNT,
        )
        self.wait_event("Emulation.virtualTimeBudgetExpired", timeout)

    def screenshot(self, timeout: float = 60) -> bytes:
        """The page's viewport as PNG.

        After :meth:`settle` the page's virtual time stands still, and in full test runs
        (other browsers and tests on the same two cores) Chromium has now and then never
        answered the capture, not even in 180 s. So the first capture is given
        :data:`CAPTURE_STALL_S` at most; then virtual time is let run (``advance``) and
        the capture asked again for ``timeout``: a still page looks the same."""
        try:
            first = min(timeout, CAPTURE_STALL_S)
            shot = self.call("Page.captureScreenshot", timeout=first, format="png")
        except TimeoutError:
            self.call("Emulation.setVirtualTimePolicy", policy="advance")
            shot = self.call("Page.captureScreenshot", timeout=timeout, format="png")
        return base64.b64decode(shot["data"])

    def messages(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and browser log entries
        received since the previous call."""
        out = []
        events, self._reported = self.log[self._reported :], len(self.log)
        for event in events:
            params = event.get("params", {})
            if event.get("method") == "Runtime.consoleAPICalled" and params["type"] in (
                "error",
                "warning",
                "assert",
            ):
                args = " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params["args"]
                )
                out.append(f"console.{params['type']}: {args}")
            elif event.get("method") == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                out.append(f"exception: {text}")
            elif event.get("method") == "Log.entryAdded":
                entry = params["entry"]
                if entry["level"] in ("error", "warning"):
                    out.append(f"log.{entry['level']}: {entry['text']} {entry.get('url', '')}")
        return out


@contextmanager
def chromium(workdir: Path, window: tuple[int, int] = WINDOW) -> Iterator[CDP]:
    """A fresh headless Chromium (own profile in ``workdir``, no network but loopback);
    its page's CDP session with the Page, Runtime and Log events on, the viewport
    ``window`` at one device pixel per CSS pixel."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=workdir))
    process = subprocess.Popen(
        [
            *command(profile, *window),
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list").json()
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
            cdp = CDP(socket)
            for domain in ("Page", "Runtime", "Log"):
                cdp.call(f"{domain}.enable")
            cdp.call(
                "Emulation.setDeviceMetricsOverride",
                width=window[0],
                height=window[1],
                deviceScaleFactor=1,
                mobile=False,
            )
            yield cdp
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(cdp: CDP, name: str, password: str, timeout: float = 120) -> str:
    """On the hub's login page open in ``cdp``: type the account's name and password and
    press "Sign in", as a person does; the address the browser lands on once that page
    has loaded (the page asked for, or the login page again with its refusal)."""
    cdp.type_into("#username", name)
    cdp.type_into("#password", password)
    cdp.forget("Page.loadEventFired")
    cdp.click("button[type=submit]")
    cdp.wait_event("Page.loadEventFired", timeout)
    return cdp.location()
