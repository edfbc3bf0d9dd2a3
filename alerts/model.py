"""What a domain gives the alert engine: its conditions, its subjects and whom they reach.

A domain (the river monitor, parking, air quality) watches *subjects* (gauges, car
parks, stations) and evaluates *conditions* on them, each identified by its key: the
domain, the subject and the condition's kind (``level``, ``full``, ``pm10``...). It
hands the engine the condition as it now stands, with a severity of 0 (clear) to 3;
the engine keeps at most one open alert per key and does the rest.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator

CODES = {1: "yellow", 2: "orange", 3: "red"}
"""The colour of each severity, as Romanian (and European) warnings name them."""

Action = Literal[
    "raised",
    "escalated",
    "de-escalated",
    "resolved",
    "acknowledged",
    "reminder",
    "contact-escalated",
]
Listing = Literal["open", "past", "all"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Condition:
    """A condition on one subject as it now stands: ``severity`` 0 (clear) to 3 since
    ``at``, the value behind it, a line for people and the details for machines."""

    subject_id: str
    kind: str
    severity: int
    at: datetime
    value: float | None = None
    message: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse a severity outside 0-3."""
        if self.severity not in range(4):
            raise ValueError(f"severity must be 0 (clear) to 3, got {self.severity}")


@dataclass(frozen=True)
class Escalation:
    """Whom an open alert reaches, and how soon it moves on while nobody answers."""

    contacts: tuple[str, ...]
    """Contact groups in escalation order: the first is told at once."""
    ack_timeout: timedelta
    """Unacknowledged this long: the next contact group is told too."""
    reminder_every: timedelta
    """An unacknowledged alert is repeated this often."""

    def __post_init__(self) -> None:
        """Refuse an escalation that reaches nobody."""
        if not self.contacts:
            raise ValueError("an escalation needs at least one contact group")


@dataclass(frozen=True)
class Subject:
    """What a domain raises alerts about (a gauge, a car park): its name and escalation."""

    id: str
    name: str
    escalation: Escalation


class Webhook(BaseModel):
    """An HTTP endpoint receiving the events of some contact groups, signed with HMAC."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    url: HttpUrl
    secret: SecretStr = Field(description="shared HMAC-SHA256 key, whsec_<base64>")
    contacts: tuple[str, ...] = Field(
        default=(), description="contact groups it receives; empty: every group"
    )

    @field_validator("secret")
    @classmethod
    def _usable_secret(cls, secret: SecretStr) -> SecretStr:
        text = secret.get_secret_value()
        try:
            key = base64.b64decode(text.removeprefix("whsec_"), validate=True)
        except ValueError:
            key = b""
        if not text.startswith("whsec_") or not 24 <= len(key) <= 64:
            raise ValueError(
                "must be a Standard Webhooks secret: whsec_ followed by base64 of"
                " 24 to 64 random bytes"
            )
        return secret

    @property
    def channel(self) -> str:
        """Its outbox channel."""
        return f"webhook:{self.name}"

    def receives(self, contacts: set[str]) -> bool:
        """Whether an event reaching these contact groups is sent here."""
        return not self.contacts or bool(contacts & set(self.contacts))


def events_channel(domain: str) -> str:
    """The PostgreSQL notification channel announcing a domain's new events."""
    return f"{domain}_events"


@dataclass(frozen=True)
class AlertSource:
    """A domain as the engine sees it: its name, what its subjects are called, the
    subjects it watches now and its webhooks.

    ``domain`` names its events (``river.alert.raised``, ids ``river-event-42``), their
    MQTT topics (``{prefix}/events/river/{subject}/{kind}``) and its notification
    channel; ``subject`` names the subject's fields in documents (``gauge_id``,
    ``gauge_name``).
    """

    domain: str
    subject: str
    subjects: Mapping[str, Subject]
    webhooks: tuple[Webhook, ...] = ()

    def __post_init__(self) -> None:
        """Refuse names that cannot be a notification channel or a document field."""
        for what, name in (("domain", self.domain), ("subject", self.subject)):
            if not _NAME.match(name):
                raise ValueError(f"{what} {name!r}: lower-case letters, digits and _ only")

    @property
    def channel(self) -> str:
        """The notification channel announcing its new events."""
        return events_channel(self.domain)

    @property
    def subject_key(self) -> str:
        """The documents' field holding the subject's id (``gauge_id``)."""
        return f"{self.subject}_id"
