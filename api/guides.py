"""The user guides of ``docs/`` as pages of the running hub.

A person using the hub reads its guides where they use it, which may be a town hall's
network with no way out: the landing page links ``/guides``, the list of the user
groups' guides (``docs/guide-*.md``), and the hub serves every page of ``docs/`` they
link to (``/guides/qgis.md``) with the screenshots (``/guides/img/…``), rendered by
markdown-it-py (CommonMark with tables; raw HTML in the files is shown as text).
Relative links need no rewriting: on ``/guides/guide-planner.md`` a link to
``qgis.md`` opens ``/guides/qgis.md`` and ``img/landing.png`` ``/guides/img/landing.png``.

The pages are read from the checkout the hub runs from (``make demo`` installs it in
place); an installation without ``docs/`` has no guides: :func:`guides` is empty and the
landing page leaves the link out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

DOCS = Path(__file__).resolve().parents[1] / "docs"
"""The repository's ``docs/`` folder."""

GUIDE_ORDER = (
    "guide-planner.md",
    "guide-parking-operator.md",
    "guide-emergency.md",
    "guide-integrator.md",
    "guide-administrator.md",
)
"""The user groups' guides in the order the index lists them (others follow by name)."""

_PAGE = re.compile(r"[a-z0-9][a-z0-9_-]*\.md")
_IMAGE = re.compile(r"[a-z0-9][a-z0-9_-]*\.png")
_RENDERER = MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass(frozen=True)
class Guide:
    """One user group's guide: its file name (its address under ``/guides/``) and title."""

    name: str
    title: str


def title_of(path: Path) -> str:
    """A page's title: its first level-1 heading, else its file name."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.name


def guides(docs: Path | None = None) -> list[Guide]:
    """The guides present in ``docs`` (default :data:`DOCS`: ``guide-*.md``), in
    :data:`GUIDE_ORDER`."""
    docs = DOCS if docs is None else docs
    found = sorted(docs.glob("guide-*.md")) if docs.is_dir() else []

    def rank(path: Path) -> tuple[int, str]:
        order = GUIDE_ORDER.index(path.name) if path.name in GUIDE_ORDER else len(GUIDE_ORDER)
        return order, path.name

    return [Guide(p.name, title_of(p)) for p in sorted(found, key=rank)]


def page_file(name: str, docs: Path | None = None) -> Path | None:
    """The Markdown page ``name`` of ``docs`` (default :data:`DOCS`; a bare ``*.md`` file
    name), or None."""
    if not _PAGE.fullmatch(name):
        return None
    path = (DOCS if docs is None else docs) / name
    return path if path.is_file() else None


def image_file(name: str, docs: Path | None = None) -> Path | None:
    """The screenshot ``name`` of ``docs/img`` (default :data:`DOCS`; a bare ``*.png``
    file name), or None."""
    if not _IMAGE.fullmatch(name):
        return None
    path = (DOCS if docs is None else docs) / "img" / name
    return path if path.is_file() else None


def render(path: Path) -> str:
    """The Markdown page at ``path`` as HTML (its raw HTML escaped, not passed on)."""
    return _RENDERER.render(path.read_text(encoding="utf-8"))
