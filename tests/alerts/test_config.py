"""A domain's webhooks read from a TOML file: taken as written, or refused with the
place and the reason before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.config import ConfigFileError, load_webhooks
from tests.alerts.sources import SECRET

OPS = f'[[webhooks]]\nname = "ops"\nurl = "https://ops.example.ro/hook"\nsecret = "{SECRET}"\n'


def test_webhooks_are_read_as_written(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.toml"
    path.write_text(
        OPS + 'contacts = ["parking-operator"]\n\n[[webhooks]]\nname = "all"\n'
        f'url = "http://127.0.0.1:8080/all"\nsecret = "{SECRET}"\n',
        encoding="utf-8",
    )
    ops, every = load_webhooks(path)
    assert (ops.name, str(ops.url), ops.contacts) == (
        "ops",
        "https://ops.example.ro/hook",
        ("parking-operator",),
    )
    assert ops.secret.get_secret_value() == SECRET
    assert (every.channel, every.contacts) == ("webhook:all", ())
    assert every.receives({"anyone"}) and not ops.receives({"parking-manager"})


def test_no_file_is_no_webhooks(tmp_path: Path) -> None:
    assert load_webhooks(None) == ()
    empty = tmp_path / "none.toml"
    empty.write_text("", encoding="utf-8")
    assert load_webhooks(empty) == ()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[webhooks]\n", "not valid TOML"),
        (OPS.replace(SECRET, "hunter2"), "webhooks.0.secret: Value error, must be a Standard"),
        (OPS.replace("https://ops.example.ro/hook", "ops"), "webhooks.0.url: Input should be"),
        (OPS + 'contact = ["x"]\n', "webhooks.0.contact: Extra inputs are not permitted"),
        (OPS + OPS, "webhook name repeated: ops"),
        ('[[hooks]]\nname = "ops"\n', "hooks: Extra inputs are not permitted"),
    ],
)
def test_a_bad_file_says_where_and_why(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "webhooks.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigFileError, match=f"webhooks.toml: .*{says}"):
        load_webhooks(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="missing.toml: cannot be read: No such file"):
        load_webhooks(tmp_path / "missing.toml")
