"""What the domains' webhook tests share (:mod:`tests.air.test_alert_webhooks`,
:mod:`tests.parking.test_alert_webhooks`): the webhooks file their guide documents, a
webhooks file for a receiver, a domain's alert service run until the receiver got
enough, and ``smartcity river`` refusing a bad file."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alerts.config import load_webhooks
from hub.cli import app
from tests.alerts.receiver import Received, serve_until, webhooks_toml


def documented_webhooks(docs: Path, path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Each webhook (name, contact groups) of the webhooks file ``docs`` shows, written
    to ``path`` and read as the service reads it."""
    text = docs.read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```toml\n(.*?)```", text, re.DOTALL) if "webhooks" in b]
    path.write_text(example, encoding="utf-8")
    return [(w.name, w.contacts) for w in load_webhooks(path)]


def webhooks_file(path: Path, url: str, contacts: dict[str, str]) -> Path:
    """``path``, written as a webhooks file of a webhook named each key of ``contacts``,
    at ``url``, for the contact group its value names."""
    path.write_text(webhooks_toml(url, contacts), encoding="utf-8")
    return path


def serve_with_webhooks_until(
    serve: Callable[..., Awaitable[None]],
    settings: Any,
    webhooks: Path | None,
    pg_url: str,
    received: Received,
    count: int,
) -> None:
    """Run a domain's alert service (its ``serve``, with its ``settings`` and the
    webhooks of the file ``webhooks``, as ``smartcity river`` reads them) until the
    receiver got ``count`` requests."""
    serve_until(partial(serve, settings, load_webhooks(webhooks), pg_url), received, count)


def assert_river_refuses_bad_webhooks_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    file_name: str,
    webhook: str,
    variable: str,
    unset: tuple[str, ...] = (),
) -> None:
    """``smartcity river``, with the environment variable ``variable`` naming ``tmp_path
    / file_name`` (a webhooks file whose webhook ``webhook`` has a secret it refuses) and
    the variables ``unset`` not set, stops at start: it says which field of which file,
    and starts no database."""
    bad = tmp_path / file_name
    bad.write_text(
        f'[[webhooks]]\nname = "{webhook}"\nurl = "http://127.0.0.1:9/"\nsecret = "hunter2"\n',
        encoding="utf-8",
    )
    data = tmp_path / "data"
    monkeypatch.setenv("SMARTCITY_DATA_DIR", str(data))
    monkeypatch.delenv("SMARTCITY_RIVER_CONFIG", raising=False)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, str(bad))
    result = CliRunner().invoke(app, ["river"])
    assert result.exit_code == 2, result.output
    assert f"{file_name}: webhooks.0.secret: Value error" in result.output
    assert not data.exists()  # no database started
