"""The DCAT-AP 3 catalogue over real PostgreSQL: valid against the DCAT-AP 3.0.1 SHACL
shapes, listing what is public and nothing else, with ETag and 304."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from auth.principal import Role
from harness.credentials import key_headers
from tests.opendata import shapes

pytestmark = pytest.mark.integration


def _identifiers(graph: Graph) -> set[str]:
    return {str(graph.value(d, DCTERMS.identifier)) for d in graph.subjects(RDF.type, DCAT.Dataset)}


def test_catalogue_conforms_to_dcat_ap_3_in_both_serialisations(client: TestClient) -> None:
    for path, media_type, fmt in (
        ("/opendata/catalog.jsonld", "application/ld+json", "json-ld"),
        ("/opendata/catalog.ttl", "text/turtle", "turtle"),
    ):
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(media_type)
        graph = Graph().parse(data=answer.text, format=fmt)
        conforms, violations, report = shapes.validate(graph)
        assert violations == [], report
        assert conforms, report
        datasets = _identifiers(graph)
        assert {"river-levels", "parking-occupancy", "air-quality", "flood-extents"} <= datasets
        assert "air-quality-index" in datasets
        assert "layer-parcels" in datasets


def test_catalogue_describes_what_a_portal_needs(client: TestClient) -> None:
    graph = Graph().parse(data=client.get("/opendata/catalog.jsonld").text, format="json-ld")
    river = next(
        d
        for d in graph.subjects(RDF.type, DCAT.Dataset)
        if graph.value(d, DCTERMS.identifier) == Literal("river-levels")
    )
    for needed in (
        DCTERMS.publisher,
        DCAT.contactPoint,
        DCTERMS.spatial,
        DCTERMS.temporal,
        DCTERMS.accrualPeriodicity,
    ):
        assert graph.value(river, needed) is not None, needed
    span = graph.value(river, DCTERMS.temporal)
    assert str(graph.value(span, DCAT.startDate)).startswith("2025-01-01")  # the first rollup
    formats = {graph.value(x, DCAT.mediaType) for x in graph.objects(river, DCAT.distribution)}
    assert formats == {
        URIRef("https://www.iana.org/assignments/media-types/text/csv"),
        URIRef("https://www.iana.org/assignments/media-types/application/vnd.apache.parquet"),
    }
    parcels = next(
        d
        for d in graph.subjects(RDF.type, DCAT.Dataset)
        if graph.value(d, DCTERMS.identifier) == Literal("layer-parcels")
    )
    urls = {str(graph.value(x, DCAT.accessURL)) for x in graph.objects(parcels, DCAT.distribution)}
    assert urls == {
        "http://testserver/opendata/datasets/layer-parcels/features.geojson",
        "http://testserver/opendata/datasets/layer-parcels/features.gpkg",
        "http://testserver/collections/parcels",
    }
    for distribution in graph.objects(None, DCAT.distribution):
        assert graph.value(distribution, DCTERMS.license) is not None


def test_unpublished_datasets_are_absent(client: TestClient) -> None:
    datasets = _identifiers(
        Graph().parse(data=client.get("/opendata/catalog.ttl").text, format="turtle")
    )
    # not public by default; internal layers; never: single bays, devices, dead letters
    for absent in ("carbon-inventory", "energy-consumption", "layer-assets", "layer-sensors"):
        assert absent not in datasets
    assert not [d for d in datasets if "bay" in d or "dead" in d or "device" in d]


def test_etag_304_and_a_new_tag_once_an_admin_publishes(client: TestClient, town: str) -> None:
    first = client.get("/opendata/catalog.jsonld")
    tag = first.headers["etag"]
    again = client.get("/opendata/catalog.jsonld", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    admin = key_headers(town, Role.ADMIN)
    put = client.put(
        "/opendata/datasets/carbon-inventory/publication", json={"public": True}, headers=admin
    )
    assert put.status_code == 204, put.text
    changed = client.get("/opendata/catalog.jsonld", headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    graph = Graph().parse(data=changed.text, format="json-ld")
    assert "carbon-inventory" in _identifiers(graph)
    assert shapes.validate(graph)[1] == []
