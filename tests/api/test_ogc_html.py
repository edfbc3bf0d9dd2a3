"""OGC API - Features in a browser (Part 1's HTML conformance class) and to the letter:
pages for the landing page, conformance, collections, a collection, its items and a
feature, chosen by ``Accept`` or ``f``; unknown items parameters refused; tiles revalidated
with ETags; the API definition valid OpenAPI 3.0."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import OpenAPIV30SpecValidator
from shapely.geometry import box

from api.app import create_app
from auth.principal import Role
from gis_layers.catalogue import set_public
from gis_layers.importer import import_file
from harness.credentials import signed_in
from settings import Settings
from storage import migrations

HTML_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
ATTACK = "<script>alert('owned')</script>"
QUOTED = '"><img src=x onerror=alert(1)>'
PARCELS = 12


def plots(tmp_path: Path) -> Path:
    """Twelve 50 m plots in Stereo 70 whose attributes hold markup, as user data may."""
    x0, y0 = 489700.0, 250200.0
    frame = gpd.GeoDataFrame(
        {
            "owner": [ATTACK] + [f"owner {i}" for i in range(1, PARCELS)],
            "note": [QUOTED] * PARCELS,
            "zone": ["R1", "C"] * (PARCELS // 2),
        },
        geometry=[
            box(x0 + 60 * i, y0 + 60 * j, x0 + 60 * i + 50, y0 + 60 * j + 50)
            for i in range(4)
            for j in range(3)
        ],
        crs="EPSG:3844",
    )
    path = tmp_path / "plots.gpkg"
    frame.to_file(path, layer="plots")
    return path


@pytest.fixture
def client(pg_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, plots(tmp_path))
    with signed_in(create_app(Settings(), pg_url), pg_url, Role.PLANNER) as test_client:
        yield test_client


class _Page(HTMLParser):
    """The links, text and SVG shapes of a page, as a browser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self.tags: list[str] = []
        self.cells: list[str] = []
        self._in_cell = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = {k: v or "" for k, v in attrs}
        if tag in ("a", "link") and "href" in found:
            self.links.append({"rel": "", "type": "", **found})
        self._in_cell = tag == "td"

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells.append(data)
            self._in_cell = False


def _html(client: TestClient, url: str, **headers: str) -> _Page:
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "Accept" in answer.headers["vary"]
    return _Page(answer.text)


def _rel(links: list[dict[str, str]], rel: str, media_type: str) -> str:
    return next(x["href"] for x in links if x["rel"] == rel and x["type"] == media_type)


def test_a_browser_gets_pages_and_a_client_json(client: TestClient) -> None:
    for path in ("/", "/conformance", "/collections", "/collections/plots"):
        page = _html(client, path, accept=BROWSER)
        json_href = _rel(page.links, "alternate", "application/json")
        assert client.get(json_href, headers={"accept": BROWSER}).json()
        assert _html(client, _rel(page.links, "self", "text/html"))
        # what curl, GDAL and OWSLib send
        for accept in ("*/*", "application/json", "application/json, text/html;q=0.5"):
            answer = client.get(path, headers={"accept": accept})
            assert answer.headers["content-type"] == "application/json", (path, accept)
        assert client.get(path, headers={"accept": BROWSER}, params={"f": "json"}).json()
        _html(client, f"{path}?f=html", accept="application/json")
        assert client.get(path, params={"f": "xml"}).status_code == 400


def test_json_documents_advertise_their_pages(client: TestClient) -> None:
    for path in ("/", "/collections", "/collections/plots", "/collections/plots/items"):
        links = client.get(path).json()["links"]
        page = _rel(links, "alternate", "text/html")
        assert "f=html" in page
        _html(client, page)
    conformance = client.get("/conformance").json()["conformsTo"]
    assert HTML_CLASS in conformance
    assert f'<a href="{HTML_CLASS}">' in client.get("/conformance?f=html").text


def test_items_page_escapes_user_data_and_pages_on(client: TestClient) -> None:
    answer = client.get("/collections/plots/items", params={"f": "html", "limit": 5})
    assert answer.status_code == 200
    text = answer.text
    # the attack is shown as text, never as markup
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in text
    page = _Page(text)
    assert "script" not in page.tags and "img" not in page.tags
    assert ATTACK in page.cells and QUOTED in page.cells
    # a map with one shape per feature of the page, each linking to the feature's page
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert svg.count("<path") == 5 and "<script" not in svg
    assert "1–5 of 12 features" in text
    assert not any(x["rel"] == "prev" for x in page.links)
    following = _rel(page.links, "next", "text/html")
    second = _Page(client.get(following).text)
    previous = _rel(second.links, "prev", "text/html")
    assert "offset=0" in previous and "f=html" in previous
    last = _Page(client.get(_rel(second.links, "next", "text/html")).text)
    assert not any(x["rel"] == "next" for x in last.links)
    assert _rel(last.links, "alternate", "application/geo+json")
    feature = next(x["href"] for x in page.links if "/items/" in x["href"])
    one = client.get(feature)
    assert one.headers["content-type"].startswith("text/html") and "<path" in one.text


def test_items_json_pages_both_ways(client: TestClient) -> None:
    links = client.get("/collections/plots/items", params={"limit": 5, "offset": 5}).json()["links"]
    assert "offset=0" in _rel(links, "prev", "application/geo+json")
    assert "offset=10" in _rel(links, "next", "application/geo+json")
    first = client.get("/collections/plots/items", params={"limit": 5}).json()["links"]
    assert not any(x["rel"] == "prev" for x in first)


def test_unknown_items_parameters_are_refused(client: TestClient) -> None:
    items = "/collections/plots/items"
    for unknown in ({"colour": "red"}, {"sortby": "zone"}, {"limit": 3, "zonee": "R1"}):
        answer = client.get(items, params=unknown)
        assert answer.status_code == 400, unknown
        assert answer.headers["content-type"] == "application/problem+json"
        assert "/collections/plots/queryables" in answer.json()["detail"]
    # a queryable as name=value filters, and the parameters the API documents are taken
    zoned = client.get(items, params={"zone": "R1"})
    assert zoned.status_code == 200 and zoned.json()["numberMatched"] == PARCELS // 2
    documented = {
        "bbox": "24,43,26,44",
        "bbox-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/4326",
        "datetime": None,
        "limit": "2",
        "offset": "1",
        "filter": "zone = 'C'",
        "filter-lang": "cql2-text",
        "filter-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "f": "json",
    }
    answer = client.get(items, params={k: v for k, v in documented.items() if v is not None})
    assert answer.status_code == 200, answer.text
    assert answer.json()["numberMatched"] == PARCELS // 2
    # every parameter the definition documents is one the route takes, and back
    operation = client.get("/openapi.json").json()["paths"]["/collections/{collectionId}/items"]
    declared = {p["name"] for p in operation["get"]["parameters"] if p["in"] == "query"}
    assert declared == set(documented)


def test_the_api_definition_is_openapi_30(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.0.")
    assert list(OpenAPIV30SpecValidator(document).iter_errors()) == []
    landing = client.get("/").json()
    described = next(x for x in landing["links"] if x["rel"] == "service-desc")
    assert described["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert client.get(described["href"]).json() == document


def test_tiles_carry_etags_and_answer_304(client: TestClient, pg_url: str) -> None:
    west, south, east, north = client.get("/collections/plots").json()["extent"]["spatial"]["bbox"][
        0
    ]
    tile = morecantile.tms.get("WebMercatorQuad").tile((west + east) / 2, (south + north) / 2, 15)
    url = f"/collections/plots/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    first = client.get(url, headers={"accept-encoding": "gzip"})
    assert first.status_code == 200 and first.content
    tag = first.headers["etag"]
    assert re.fullmatch(r'W/"[0-9a-f]+-[0-9a-f]{16}"', tag)
    assert first.headers["cache-control"] == "private, max-age=60"
    again = client.get(url, headers={"if-none-match": tag, "accept-encoding": "gzip"})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    # the same tile, not compressed, is the same answer to a cache (a weak tag)
    assert client.get(url, headers={"if-none-match": f'"x", {tag}'}).status_code == 304
    assert client.get(url, headers={"if-none-match": '"other"'}).status_code == 200
    elsewhere = f"/collections/plots/tiles/WebMercatorQuad/{tile.z}/{tile.y + 3}/{tile.x}"
    assert client.get(elsewhere).headers["etag"] != tag
    # anonymous callers read public layers only; their tiles may be kept by shared caches
    with psycopg.connect(pg_url) as conn:
        set_public(conn, "plots", True)
    anonymous = TestClient(client.app)
    assert anonymous.get(url).headers["cache-control"] == "public, max-age=60"
