"""Pytest plugin of ``make mutation``: each module's mutants meet its own unit tests only.

mutmut runs, for each mutant, the tests that executed the mutated function. A module's
score must say how well *its* tests catch a change, not that another module's tests
pass through it (the conditions tests call the trend), so this plugin, which only
mutmut loads (``[tool.mutmut] pytest_add_cli_args`` in ``pyproject.toml``):

- collects only the own test files of the modules in ``[tool.mutmut] only_mutate``:
  ``pkg/module.py`` is tested by ``tests/pkg/test_module.py`` (tests mirror the
  packages);
- while a mutant runs (mutmut names it in ``MUTANT_UNDER_TEST``, e.g.
  ``river_monitor.trend.x_trend__mutmut_3``), deselects the tests of other modules;
- derandomizes hypothesis, without its example database, so that a score does not
  depend on the luck of one run or on what an earlier mutant's failure left behind.
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import settings


@functools.cache
def _own_tests(rootpath: Path) -> dict[str, Path]:
    """``{dotted module: its test file}`` for every module mutmut mutates."""
    document = tomllib.loads((rootpath / "pyproject.toml").read_text(encoding="utf-8"))
    own = {}
    for module in document["tool"]["mutmut"]["only_mutate"]:
        package, name = Path(module).parent, Path(module).stem
        own[".".join((*package.parts, name))] = rootpath / "tests" / package / f"test_{name}.py"
    return own


def pytest_configure() -> None:
    """Every property test draws the same examples in every run."""
    settings.register_profile("mutation", derandomize=True, database=None)
    settings.load_profile("mutation")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect the own test files, and the folders that hold them, only."""
    wanted = _own_tests(config.rootpath).values()
    if collection_path.is_dir():
        return None if any(collection_path in f.parents for f in wanted) else True
    return None if collection_path in wanted else True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under a mutant, keep only the tests of the mutated module."""
    module = os.environ.get("MUTANT_UNDER_TEST", "").rpartition(".")[0]
    own = _own_tests(config.rootpath).get(module)
    if own is None:
        return  # the stats and clean runs: every own test of every module
    deselected = [item for item in items if item.path != own]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.path == own]
