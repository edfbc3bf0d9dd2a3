"""The alert configuration a domain reads from a file: whom its alerts reach by webhook.

Every domain describes its webhooks the same way, as ``[[webhooks]]`` tables of
:class:`~alerts.model.Webhook` in a TOML file: the river inside its file of gauges
(:mod:`river_monitor.config`), parking and air quality in files of their own
(``SMARTCITY_PARKING_WEBHOOKS_FILE``, ``SMARTCITY_AIR_WEBHOOKS_FILE``). A file that
cannot be used is refused with the place and the reason (``webhooks.0.secret: ...``),
before the domain's service starts.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from alerts.model import Webhook

M = TypeVar("M", bound=BaseModel)


class ConfigFileError(ValueError):
    """A configuration file cannot be used; the message says where and why."""


def refuse_repeated(what: str, names: Iterable[str]) -> None:
    """Raise ValueError naming the ``names`` given more than once (``what`` says whose)."""
    seen = list(names)
    repeated = sorted({n for n in seen if seen.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} repeated: {', '.join(repeated)}")


class Webhooks(BaseModel):
    """A file holding only webhooks (a domain without a configuration file of its own)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    webhooks: tuple[Webhook, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Webhooks:
        refuse_repeated("webhook name", (w.name for w in self.webhooks))
        return self


def read_toml(path: Path, model: type[M], error: type[ConfigFileError] = ConfigFileError) -> M:
    """The TOML file at ``path`` as ``model``; ``error`` (a :class:`ConfigFileError`)
    names the file, and the place in it, of what is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise error(f"{path}: {problems}") from exc


def load_webhooks(path: Path | None) -> tuple[Webhook, ...]:
    """The webhooks in the TOML file at ``path`` (``[[webhooks]]`` tables); none without
    a file."""
    if path is None:
        return ()
    return read_toml(path, Webhooks).webhooks
