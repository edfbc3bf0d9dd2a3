"""The folders are the architecture: what each floor may import, checked on the source.

Domain code (and the floors below it) does not import the demo town or the hub's
wiring: the demo provides its configuration, not the other way round. Settings are the
bottom floor: every package may import them, and they import none of ours. Only
``ingest_mqtt`` imports an MQTT client library: everything else publishes and receives
through it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ["air", "alerts", "audit", "auth", "backup", "carbon", "gis_layers", "ingest_mqtt"]
DOMAIN += ["opendata", "parking", "river_monitor", "simulator", "storage", "twin"]
MQTT_CLIENTS = {"paho", "gmqtt"}


def _imports(package: str) -> dict[str, set[str]]:
    """Every module each source file of ``package`` imports, by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_code_imports_neither_the_demo_nor_the_wiring(package: str) -> None:
    upward = {
        path: sorted(n for n in names if n.split(".")[0] in {"demo_town", "hub"})
        for path, names in _imports(package).items()
    }
    assert {p: n for p, n in upward.items() if n} == {}


def test_only_ingest_mqtt_imports_an_mqtt_client() -> None:
    packages = [p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()]
    clients = {
        path: sorted(n for n in names if n.split(".")[0] in MQTT_CLIENTS)
        for package in packages
        if package not in {"ingest_mqtt", "tests"}
        for path, names in _imports(package).items()
    }
    assert {p: n for p, n in clients.items() if n} == {}


def test_settings_import_no_package_of_ours() -> None:
    ours = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"settings"}
    upward = {
        path: sorted(n for n in names if n.split(".")[0] in ours)
        for path, names in _imports("settings").items()
    }
    assert {p: n for p, n in upward.items() if n} == {}
