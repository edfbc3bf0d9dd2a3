"""A domain of the tests' own for the alert engine: car parks, with two webhooks."""

from __future__ import annotations

import base64
from datetime import timedelta

from alerts.model import AlertSource, Escalation, Subject, Webhook

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
ESCALATION = Escalation(
    ("duty-officer", "parking-manager", "police"),
    ack_timeout=timedelta(minutes=15),
    reminder_every=timedelta(minutes=10),
)
PARKING = AlertSource(
    "parking",
    "lot",
    {"lot-centru": Subject("lot-centru", "Parcare Centru", ESCALATION)},
    (
        Webhook(name="duty", url="http://127.0.0.1:9/", secret=SECRET, contacts=("duty-officer",)),
        Webhook(name="police", url="http://127.0.0.1:9/", secret=SECRET, contacts=("police",)),
    ),
)
"""Escalation every 15 min through three groups, reminders every 10; a webhook for the
first group and one for the last."""
