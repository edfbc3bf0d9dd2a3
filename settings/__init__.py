"""Configuration, read from ``SMARTCITY_*`` environment variables: the bottom floor.

Every package may import it; it imports none of ours. One class per concern —
:class:`DatabaseSettings`, :class:`BrokerSettings`, :class:`BrokerTlsSettings`,
:class:`IngestSettings`, :class:`RetentionSettings`, :class:`RiverSettings`,
:class:`ParkingAlertSettings`, :class:`AirAlertSettings`, :class:`AuthSettings`,
:class:`ApiSettings`, :class:`BackupSettings`, :class:`CarbonSettings`,
:class:`OpenDataSettings` — each taken by the
code it configures, and :class:`Settings`, all of them composed, built by the CLI.
Unset server URLs mean "use the embedded default": an embedded PostgreSQL in the data
directory and an embedded MQTT broker on a free loopback port. Construct settings
explicitly, never at import time.
"""

from settings.air import AirAlertSettings
from settings.api import ApiSettings
from settings.auth import AuthSettings
from settings.backup import BackupSettings
from settings.base import DataSettings
from settings.broker import BrokerAddress, BrokerSettings, BrokerTlsSettings
from settings.carbon import CarbonSettings
from settings.database import DatabaseSettings
from settings.hub import Settings
from settings.ingest import IngestSettings
from settings.opendata import OpenDataSettings
from settings.parking import ParkingAlertSettings
from settings.retention import RetentionSettings
from settings.river import RiverSettings

__all__ = [
    "AirAlertSettings",
    "ApiSettings",
    "AuthSettings",
    "BackupSettings",
    "BrokerAddress",
    "BrokerSettings",
    "BrokerTlsSettings",
    "CarbonSettings",
    "DataSettings",
    "DatabaseSettings",
    "IngestSettings",
    "OpenDataSettings",
    "ParkingAlertSettings",
    "RetentionSettings",
    "RiverSettings",
    "Settings",
]
