"""What a domain gives the alert engine, refused up front when it cannot work (a
severity outside 0-3, an escalation reaching nobody, names that cannot be a
notification channel or a document field, a webhook secret that cannot sign), and the
names the engine derives from it for the channels and documents others read."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from alerts.model import AlertSource, Condition, Escalation, Subject, Webhook, events_channel

T0 = datetime(2026, 4, 2, 6, tzinfo=UTC)


def _secret(size: int) -> str:
    return "whsec_" + base64.b64encode(bytes(range(size))).decode()


def _webhook(secret: str = _secret(32), contacts: tuple[str, ...] = ()) -> Webhook:
    return Webhook(name="duty", url="http://127.0.0.1:9/", secret=secret, contacts=contacts)


@pytest.mark.parametrize("severity", [0, 1, 2, 3])
def test_severities_0_to_3_are_conditions(severity: int) -> None:
    assert Condition("lot-centru", "full", severity, T0).severity == severity


@pytest.mark.parametrize("severity", [-1, 4])
def test_a_severity_outside_0_to_3_is_refused(severity: int) -> None:
    with pytest.raises(ValueError, match=rf"^severity must be 0 \(clear\) to 3, got {severity}$"):
        Condition("lot-centru", "full", severity, T0)


def test_an_escalation_must_reach_someone() -> None:
    minutes = timedelta(minutes=10)
    assert Escalation(("duty-officer",), minutes, minutes).contacts == ("duty-officer",)
    with pytest.raises(ValueError, match="^an escalation needs at least one contact group$"):
        Escalation((), minutes, minutes)


@pytest.mark.parametrize(
    ("domain", "subject", "says"),
    [
        ("Parking", "lot", "domain 'Parking'"),
        ("parking", "lot-id", "subject 'lot-id'"),
        ("2parking", "lot", "domain '2parking'"),
        ("parking", "", "subject ''"),
    ],
)
def test_names_that_cannot_be_a_channel_or_a_field_are_refused(
    domain: str, subject: str, says: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{says}: lower-case letters, digits and _ only$"):
        AlertSource(domain, subject, {})


def test_a_domain_names_its_channel_and_its_subjects_fields() -> None:
    """The names other processes and receivers rely on (the package's docstring):
    the notification channel ``{domain}_events``, the field ``{subject}_id``."""
    escalation = Escalation(("duty-officer",), timedelta(minutes=15), timedelta(minutes=10))
    source = AlertSource("air_quality", "station", {"s1": Subject("s1", "Centru", escalation)})
    assert source.channel == events_channel("air_quality") == "air_quality_events"
    assert source.subject_key == "station_id"


@pytest.mark.parametrize("size", [24, 32, 64])
def test_a_standard_webhooks_secret_of_24_to_64_bytes_signs(size: int) -> None:
    assert _webhook(_secret(size)).secret.get_secret_value() == _secret(size)


@pytest.mark.parametrize(
    "secret",
    [
        _secret(23),  # too short to be a key
        _secret(65),
        _secret(32).removeprefix("whsec_"),  # the key without its prefix
        _secret(32)[:20] + "!" + _secret(32)[20:],  # not base64, though the rest would be
        "whsec_not base64 at all, whatever its length",
        "hunter2",
    ],
)
def test_a_secret_that_is_not_a_standard_webhooks_key_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="must be a Standard Webhooks secret: whsec_"):
        _webhook(secret)


def test_a_webhook_receives_its_contact_groups_events_or_every_event() -> None:
    duty = _webhook(contacts=("duty-officer", "parking-manager"))
    assert duty.channel == "webhook:duty"
    assert duty.receives({"duty-officer"})
    assert duty.receives({"police", "parking-manager"})
    assert not duty.receives({"police"})
    assert not duty.receives(set())
    everyone = _webhook()
    assert everyone.receives({"police"})
    assert everyone.receives(set())
