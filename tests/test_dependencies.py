"""Every third-party module the hub's own code imports comes from a runtime dependency.

The test environment also holds the test extras (httpx, psutil, ...): code importing one
of them passes every test here and fails for a user who ran ``make demo`` (it happened:
the river monitor's webhooks needed httpx).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(
    p.name
    for p in ROOT.iterdir()
    if (p / "__init__.py").exists() and p.name not in {"tests", "harness"}
)


def _runtime_distributions() -> set[str]:
    """The declared dependencies and, transitively, what they require (with the extras
    asked for, on this platform)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    found: set[str] = set()
    todo = [Requirement(r) for r in declared]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        try:
            needs = [Requirement(r) for r in requires(name) or []]
        except PackageNotFoundError:  # not installed: another platform's requirement
            continue
        found.add(name)
        for need in needs:
            extras = requirement.extras or {""}
            if need.marker is None or any(need.marker.evaluate({"extra": e}) for e in extras):
                if canonicalize_name(need.name) not in found:
                    todo.append(need)
    return found


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_runtime_code_imports_only_runtime_dependencies() -> None:
    providers = packages_distributions()
    allowed = _runtime_distributions()
    missing = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for module in _imports(path):
                if module in sys.stdlib_module_names or module in PACKAGES:
                    continue
                dists = {canonicalize_name(d) for d in providers.get(module, [])}
                if not dists & allowed:
                    missing[f"{path.relative_to(ROOT)}: {module}"] = sorted(dists)
    assert missing == {}, "imported but not a runtime dependency (pyproject.toml)"
