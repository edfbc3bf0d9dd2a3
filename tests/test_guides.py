"""The user guides (``docs/guide-*.md``) name only what exists: every ``smartcity``
command and option is the CLI's, every route the API's, every ``SMARTCITY_*`` variable a
setting, every link and picture a file (and every anchor a heading of it), and every
screenshot in ``docs/img`` is shown somewhere and small."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import typer.main
from fastapi.routing import iter_route_contexts
from PIL import Image
from starlette.routing import Mount

from api.app import create_app
from hub.cli import app as cli
from settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDES = sorted(DOCS.glob("guide-*.md"))
IDS = [p.name for p in GUIDES]
HUB = "http://127.0.0.1:8000"
"""The demo hub's address, which the guides' examples use."""
MAX_WIDTH, MAX_BYTES = 1366, 250_000

COMMAND = re.compile(r"(?<![\w/.=-])smartcity ([^`|;&#\n]*)")
METHOD_PATH = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/[^\s`?)\]]*)")
HUB_URL = re.compile(re.escape(HUB) + r"(/[^\s`\"'?)#]*)")
CODE_SPAN = re.compile(r"`(/[^`\s?]*)[^`]*`")
SETTING = re.compile(r"SMARTCITY_[A-Z0-9_]*[A-Z0-9]")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _text(guide: Path) -> str:
    return guide.read_text(encoding="utf-8")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    lines = page.read_text(encoding="utf-8").splitlines()
    return {_slug(line.lstrip("#")) for line in lines if re.match(r"#{1,6} ", line)}


def _cli_command(words: list[str]) -> tuple[Any, list[str]]:
    """The CLI command (click's, as typer builds it) the words name, and the words after
    its name."""
    command = typer.main.get_command(cli)
    while words and words[0] in getattr(command, "commands", {}):
        command = command.commands[words.pop(0)]  # type: ignore[attr-defined]
    return command, words


@pytest.mark.parametrize("guide", GUIDES, ids=IDS)
def test_every_smartcity_command_and_option_exists(guide: Path) -> None:
    named = [m.group(1).split() for m in COMMAND.finditer(_text(guide))]
    for words in (w for w in named if w):
        command, rest = _cli_command(list(words))
        assert not hasattr(command, "commands"), f"`smartcity {' '.join(words)}`: no such command"
        options = {o for p in command.params for o in p.opts}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"`smartcity {' '.join(words)}`: {word}?"


def _routes() -> list[tuple[str, re.Pattern[str], set[str]]]:
    """Every route of the app (API operations, pages, mounted files): its path template,
    the paths it answers and its methods."""
    app = create_app(Settings(), "postgresql://nobody@127.0.0.1/none")
    routes = []
    for context in iter_route_contexts(app.routes):
        template = context.path_format or ""
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if isinstance(context.original_route, Mount):
            pattern = pattern.removesuffix("[^/]+") + ".+"
            methods = {"GET", "HEAD"}
        else:
            methods = set(context.methods or ())
        routes.append((template, re.compile(pattern), methods))
    return routes


ROUTES = _routes()
FIRST_SEGMENTS = {template.split("/")[1] for template, _, _ in ROUTES} - {""}


def _answered(method: str, path: str) -> bool:
    return any(p.fullmatch(path) and method in methods for _, p, methods in ROUTES)


def _named_routes(text: str) -> set[tuple[str, str]]:
    named = {(m.group(1), m.group(2)) for m in METHOD_PATH.finditer(text)}
    named |= {("GET", m.group(1) or "/") for m in HUB_URL.finditer(text)}
    for m in CODE_SPAN.finditer(text):
        if m.group(1).split("/")[1] in FIRST_SEGMENTS:
            named.add(("GET", m.group(1)))
    return {(method, unquote(path.rstrip(".,:;"))) for method, path in named}


@pytest.mark.parametrize("guide", GUIDES, ids=IDS)
def test_every_route_named_is_the_apis(guide: Path) -> None:
    named = _named_routes(_text(guide))
    assert named, f"{guide.name} names no route"
    missing = sorted(f"{m} {p}" for m, p in named if not _answered(m, p))
    assert missing == [], f"{guide.name} names routes the API does not have"


def test_the_route_check_can_fail() -> None:
    assert _answered("GET", "/collections/parcels/items")
    assert _answered("GET", "/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert _answered("GET", "/docs/assets/swagger-ui.css")
    assert not _answered("GET", "/collections/parcels/itemz")
    assert not _answered("POST", "/collections")
    assert _named_routes("`/devices/x/readings?quantity=pm25` and `/etc/mosquitto`") == {
        ("GET", "/devices/x/readings")
    }


@pytest.mark.parametrize("guide", GUIDES, ids=IDS)
def test_every_setting_named_exists(guide: Path) -> None:
    fields = {f"SMARTCITY_{name.upper()}" for name in Settings.model_fields}
    named = set(SETTING.findall(_text(guide)))
    assert sorted(named - fields) == []


@pytest.mark.parametrize("guide", GUIDES, ids=IDS)
def test_every_link_and_picture_exists(guide: Path) -> None:
    for target in LINK.findall(_text(guide)):
        if re.match(r"[a-z]+:", target):
            continue  # another site
        file, _, anchor = target.partition("#")
        page = (guide.parent / file).resolve() if file else guide
        assert page.is_file(), f"{guide.name} links {target}: no such file"
        if anchor and page.suffix == ".md":
            assert anchor in _anchors(page), f"{guide.name} links {target}: no such heading"


def test_every_screenshot_is_shown_and_small() -> None:
    shown = {
        (DOCS / target.partition("#")[0]).resolve()
        for page in DOCS.glob("*.md")
        for target in LINK.findall(page.read_text(encoding="utf-8"))
    }
    for image in sorted((DOCS / "img").glob("*.png")):
        assert image.resolve() in shown, f"{image.name} is in no page of docs/"
        assert image.stat().st_size <= MAX_BYTES, f"{image.name}: over {MAX_BYTES} bytes"
        with Image.open(image) as opened:
            assert opened.width <= MAX_WIDTH, f"{image.name}: {opened.width} px wide"
