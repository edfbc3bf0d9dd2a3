"""The README's promises a newcomer relies on: every route listed, the two commands first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.app import create_app
from settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
API_SECTION = README[README.index("\n## API\n") : README.index("\n## Layout\n")]


def _routes() -> list[tuple[str, str, list[str]]]:
    """(method, path, required query parameters) of every route in the app's OpenAPI."""
    document = create_app(Settings(), "postgresql://nobody@127.0.0.1/none").openapi()
    return [
        (
            method.upper(),
            path,
            [p["name"] for p in op.get("parameters", []) if p["in"] == "query" and p["required"]],
        )
        for path, operations in document["paths"].items()
        for method, op in operations.items()
    ]


ROUTES = _routes()


@pytest.mark.parametrize(("method", "path", "required"), ROUTES, ids=[r[1] for r in ROUTES])
def test_the_readme_lists_every_route(method: str, path: str, required: list[str]) -> None:
    """Each route has a row in the API table, its required parameters in that row."""
    row = re.search(rf"^\|.*`{re.escape(f'{method} {path}')}[`?].*$", API_SECTION, re.MULTILINE)
    assert row is not None, f"{method} {path} is not in the README's API table"
    assert [p for p in required if f"{p}=" not in row.group(0)] == []


def test_the_readme_opens_with_the_two_commands() -> None:
    assert README.startswith("```sh\nmake demo   # ")
    assert README.splitlines()[2].startswith("make test   # ")
