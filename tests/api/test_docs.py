"""``/docs`` (Swagger UI) and ``/redoc`` from the hub's own files: every file they load is
local and served, and headless Chromium without a network renders the operations."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from harness.headless_chromium import CHROMIUM, command
from harness.live import live_server
from settings import Settings

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class _Loaded(HTMLParser):
    """The URLs a page loads: scripts, style sheets, icons; and URLs in its inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") if tag == "script" else found.get("href")
        if url is not None:
            self.urls.append(url)

    def handle_data(self, data: str) -> None:
        self.inline += data


@pytest.fixture
def client(small_town: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), small_town)) as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_load_only_the_hubs_own_files(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    parsed = _Loaded()
    parsed.feed(answer.text)
    assert parsed.urls, "the page loads nothing"
    assert all(url.startswith("/") and not url.startswith("//") for url in parsed.urls), parsed.urls
    assert not re.search(r"https?://", parsed.inline), "inline code names a remote URL"
    assert not re.search(r"https?://", answer.text)
    for url in parsed.urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = CONTENT_TYPES[Path(url).suffix]
        assert asset.headers["content-type"].startswith(expected), (url, asset.headers)
        assert len(asset.content) > 500, url


def test_swagger_ui_oauth2_redirect_page(client: TestClient) -> None:
    page = client.get("/docs/oauth2-redirect")
    assert page.status_code == 200
    assert "oauth2" in page.text.lower()
    assert "'/docs/oauth2-redirect'" in client.get("/docs").text


def test_the_pages_are_not_api_operations(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test-deps.sh installs it)"
)
@pytest.mark.parametrize(
    ("page", "rendered"),
    [
        # Swagger UI: an operation block per route, its path in the summary
        ("/docs", r'data-path="/twin/snapshot"'),
        # ReDoc: the operations in its side menu, by their summaries
        ("/redoc", r"Snapshot"),
    ],
)
def test_headless_chromium_offline_renders_the_operations(
    small_town: str, tmp_path: Path, page: str, rendered: str
) -> None:
    with live_server(create_app(Settings(), small_town)) as url:
        run = subprocess.run(
            [
                *command(tmp_path / "chromium"),
                "--virtual-time-budget=20000",
                "--dump-dom",
                f"{url}{page}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    dom = run.stdout
    assert re.search(rendered, dom, re.S), dom[:2000]
    assert "Failed to load API definition" not in dom
