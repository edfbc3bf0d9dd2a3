"""The user guides as the running hub serves them: linked from the landing page, listed
at ``/guides``, each page with its screenshots and its links working on the hub itself."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from api import guides
from api.app import create_app
from settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE_FILES = sorted(DOCS.glob("guide-*.md"))


class _Page(HTMLParser):
    """The links, images and level-1 headings of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.h1: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        elif tag == "img" and found.get("src"):
            self.images.append(str(found["src"]))
        elif tag == "h1":
            self._in_h1 = True
            self.h1.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1[-1] += data


def _parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _first_heading(path: Path) -> str:
    return next(line[2:] for line in path.read_text().splitlines() if line.startswith("# "))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The API without its lifespan: the guides need no database."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("guides"))
    return TestClient(create_app(settings, "postgresql://nobody@127.0.0.1/none"))


def test_the_landing_page_links_every_guide(client: TestClient) -> None:
    assert GUIDE_FILES, "docs/ has no guide"
    landing = client.get("/", headers={"Accept": "text/html"})
    index_url = next(u for u in _parsed(landing.text).links if urlsplit(u).path == "/guides")
    index = client.get(index_url)
    assert index.status_code == 200
    listed = [urlsplit(u).path for u in _parsed(index.text).links]
    for path in GUIDE_FILES:
        url = f"/guides/{path.name}"
        assert url in listed, f"{path.name} is not listed at /guides"
        page = client.get(url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert _first_heading(path) in _parsed(page.text).h1


@pytest.mark.parametrize("guide", GUIDE_FILES, ids=[p.name for p in GUIDE_FILES])
def test_a_guide_shows_its_screenshots_and_its_links_open(client: TestClient, guide: Path) -> None:
    url = f"http://testserver/guides/{guide.name}"
    page = _parsed(client.get(url).text)
    assert page.images, f"{guide.name} shows no screenshot"
    for src in page.images:
        image = client.get(urljoin(url, src))
        assert image.status_code == 200, src
        assert image.headers["content-type"] == "image/png"
        assert image.content == (DOCS / "img" / Path(src).name).read_bytes()
    for href in page.links:
        target = urljoin(url, href)
        if urlsplit(target).netloc == "testserver" and urlsplit(target).path.startswith("/guides"):
            assert client.get(target).status_code == 200, f"{guide.name} links {href}"


@pytest.mark.parametrize(
    "path",
    [
        "/guides/nothing.md",
        "/guides/README.md",  # only docs/ pages, by lower-case name
        "/guides/..%2Fpyproject.toml",
        "/guides/%2E%2E%2FREADME.md",
        "/guides/img/nothing.png",
        "/guides/img/..%2F..%2Fpyproject.toml",
        "/guides/img/qgis.md",
    ],
)
def test_anything_else_is_not_found(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_raw_html_in_a_page_is_shown_as_text(tmp_path: Path) -> None:
    page = tmp_path / "guide-x.md"
    page.write_text("# X\n\n<script>alert(1)</script>\n\n| a |\n|---|\n| <b>1</b> |\n")
    rendered = guides.render(page)
    assert "<script>" not in rendered and "<b>" not in rendered
    assert "&lt;script&gt;" in rendered
    assert "<table>" in rendered  # tables are rendered


def test_guides_are_listed_by_user_group(tmp_path: Path) -> None:
    for name, title in [
        ("guide-zoning.md", "Zoning"),
        ("guide-administrator.md", "Admins"),
        ("guide-planner.md", "Planners"),
        ("qgis.md", "Not a guide"),
    ]:
        (tmp_path / name).write_text(f"intro\n# {title}\n")
    assert guides.guides(tmp_path) == [
        guides.Guide("guide-planner.md", "Planners"),
        guides.Guide("guide-administrator.md", "Admins"),
        guides.Guide("guide-zoning.md", "Zoning"),
    ]


def test_a_hub_without_docs_has_no_guides_link(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guides, "DOCS", tmp_path / "absent")
    landing = client.get("/?f=html")
    assert not [u for u in _parsed(landing.text).links if "/guides" in u]
    assert client.get("/guides/guide-planner.md").status_code == 404
