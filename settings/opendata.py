"""The open-data catalogue: who publishes it, under which licence, whom to ask
(``SMARTCITY_OPENDATA_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from settings.base import ENV


class OpenDataSettings(BaseSettings):
    """What the DCAT-AP catalogue says of its publisher, licence and contact point."""

    model_config = ENV

    opendata_publisher: str = Field(
        default="Municipiul Turnu Măgurele", description="the publisher's name (the municipality)"
    )
    opendata_publisher_uri: str = Field(
        default="https://www.turnumagurele.ro/",
        description="the publisher's URI (its web site, or its id in a register)",
    )
    opendata_contact_email: str = Field(
        default="opendata@turnumagurele.ro", description="the catalogue's contact point"
    )
    opendata_licence: str = Field(
        default="http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
        description="the datasets' licence (an EU licence authority URI)",
    )
    opendata_language: str = Field(
        default="http://publications.europa.eu/resource/authority/language/RON",
        description="the catalogue's language (EU language authority URI)",
    )
