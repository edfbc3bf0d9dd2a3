"""The catalogue of the public datasets in DCAT-AP 3 (an rdflib graph), served as
JSON-LD and Turtle for data.europa.eu and national portals to harvest.

Every dataset names its publisher (the municipality), contact point, licence, spatial
coverage (a bounding box, from its layer or devices), temporal coverage (its first and
newest data), update frequency and distributions: CSV and Parquet for series, GeoJSON,
GeoPackage and the OGC API - Features collection for layers. Objects are typed with the
classes DCAT-AP's range shapes expect (``dct:LicenseDocument``, ``dct:Frequency``,
``dct:MediaType``...), and controlled values are the EU Publications Office's authority
URIs (licences, frequencies, file types, data themes, languages).

Built with rdflib rather than written as JSON by hand: one graph gives both
serialisations, and the tests validate that same graph with pySHACL against the
DCAT-AP 3.0.1 shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from gis_layers.catalogue import Layer
from opendata.datasets import LAYER_PREFIX, DocumentDataset, SeriesDataset
from opendata.publication import Published
from settings import OpenDataSettings

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
EU = "http://publications.europa.eu/resource/authority/"
FREQUENCY = Namespace(EU + "frequency/")
FILE_TYPE = Namespace(EU + "file-type/")
THEME = Namespace(EU + "data-theme/")
IANA = "https://www.iana.org/assignments/media-types/"
OGC_FEATURES = URIRef("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core")

_FORMATS = {  # media type → EU file type
    "text/csv": "CSV",
    "application/vnd.apache.parquet": "PARQUET",
    "application/geo+json": "GEOJSON",
    "application/geopackage+sqlite3": "GPKG",
    "image/tiff": "TIFF",
    "application/json": "JSON",
}

_THEMES = {
    "ENER": "Energy",
    "ENVI": "Environment",
    "REGI": "Regions and cities",
    "TRAN": "Transport",
}
"""Labels of the EU data themes the hub's datasets use."""

PARQUET = "application/vnd.apache.parquet"
GEOPACKAGE = "application/geopackage+sqlite3"


@dataclass(frozen=True)
class Coverage:
    """Where and when a dataset's data lie (None: unknown, left out)."""

    bbox: tuple[float, float, float, float] | None
    start: datetime | None
    end: datetime | None


async def series_coverage(conn: AsyncConnection, dataset: SeriesDataset) -> Coverage:
    """The devices' bounding box, and their first hour or day rolled up to their newest
    reading (the rollups' indexes answer it, not the raw readings)."""
    row = await (
        await conn.execute(
            "WITH v AS (SELECT device_id, lon, lat FROM devices WHERE kind = ANY(%s)),"
            " ids AS (SELECT device_id FROM v)"
            " SELECT (SELECT min(lon) FROM v), (SELECT min(lat) FROM v),"
            " (SELECT max(lon) FROM v), (SELECT max(lat) FROM v),"
            " least((SELECT min(bucket) FROM readings_1d WHERE device_id IN (TABLE ids)),"
            " (SELECT min(bucket) FROM readings_1h WHERE device_id IN (TABLE ids)),"
            " (SELECT min(time) FROM latest_readings WHERE device_id IN (TABLE ids))),"
            " (SELECT max(time) FROM latest_readings WHERE device_id IN (TABLE ids))",
            (list(dataset.device_kinds),),
        )
    ).fetchone()
    if row is None:
        return Coverage(None, None, None)
    west, south, east, north, first, newest = row
    bbox = None if west is None else (west, south, east, north)
    return Coverage(bbox, first, newest)


def _bbox_wkt(bbox: tuple[float, float, float, float]) -> str:
    w, s, e, n = bbox
    return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"


class _Builder:
    """Adds the catalogue's nodes to one graph."""

    def __init__(self, base: str, settings: OpenDataSettings) -> None:
        self.base = base.rstrip("/") + "/"
        self.settings = settings
        self.graph = Graph()
        for prefix, ns in (
            ("dcat", DCAT),
            ("dct", DCTERMS),
            ("foaf", FOAF),
            ("vcard", VCARD),
            ("locn", LOCN),
            ("skos", SKOS),
        ):
            self.graph.bind(prefix, ns)
        self.catalog = URIRef(self.base + "opendata/catalog")
        self.publisher = URIRef(settings.opendata_publisher_uri)
        self.contact = URIRef(self.base + "opendata/catalog#contact")
        self.licence = URIRef(settings.opendata_licence)
        self.language = URIRef(settings.opendata_language)

    def url(self, path: str) -> URIRef:
        return URIRef(self.base + path.lstrip("/"))

    def add(
        self, subject: URIRef | BNode, predicate: URIRef, obj: URIRef | BNode | Literal
    ) -> None:
        self.graph.add((subject, predicate, obj))

    def typed(self, node: URIRef | BNode, kind: URIRef) -> URIRef | BNode:
        self.add(node, RDF.type, kind)
        return node

    def concept(self, node: URIRef, label: str) -> URIRef:
        self.typed(node, SKOS.Concept)
        self.add(node, SKOS.prefLabel, Literal(label, lang="en"))
        return node

    def shared(self) -> None:
        """The catalogue, its publisher, contact point, licence and language."""
        g, s = self.graph, self.settings
        self.typed(self.catalog, DCAT.Catalog)
        self.add(
            self.catalog, DCTERMS.title, Literal(f"Open data of {s.opendata_publisher}", lang="en")
        )
        self.add(
            self.catalog,
            DCTERMS.description,
            Literal(
                f"Datasets {s.opendata_publisher} publishes from its smart-city hub: river"
                " levels, flood extents, parking occupancy, air quality, carbon inventory"
                " and map layers.",
                lang="en",
            ),
        )
        self.add(self.catalog, DCTERMS.publisher, self.publisher)
        self.add(
            self.catalog, DCTERMS.language, self.typed(self.language, DCTERMS.LinguisticSystem)
        )
        self.add(self.catalog, DCTERMS.license, self.typed(self.licence, DCTERMS.LicenseDocument))
        self.add(self.catalog, FOAF.homepage, self.typed(self.url("/"), FOAF.Document))
        self.typed(self.publisher, FOAF.Agent)
        g.add((self.publisher, FOAF.name, Literal(s.opendata_publisher)))
        g.add(
            (
                self.publisher,
                DCTERMS.type,
                self.concept(
                    URIRef("http://purl.org/adms/publishertype/LocalAuthority"), "Local authority"
                ),
            )
        )
        self.typed(self.contact, VCARD.Organization)
        self.typed(self.contact, VCARD.Kind)
        g.add((self.contact, VCARD.fn, Literal(s.opendata_publisher)))
        g.add((self.contact, VCARD.hasEmail, URIRef(f"mailto:{s.opendata_contact_email}")))

    def dataset(
        self,
        dataset_id: str,
        title: str,
        description: str,
        keywords: Sequence[str],
        theme: str,
        frequency: str,
        coverage: Coverage,
        modified: datetime | None,
    ) -> URIRef:
        """A dataset's node with what every dataset carries."""
        node = self.url(f"/opendata/datasets/{dataset_id}")
        self.typed(node, DCAT.Dataset)
        self.add(self.catalog, DCAT.dataset, node)
        self.add(node, DCTERMS.identifier, Literal(dataset_id))
        self.add(node, DCTERMS.title, Literal(title, lang="en"))
        self.add(node, DCTERMS.description, Literal(description, lang="en"))
        self.add(node, DCTERMS.publisher, self.publisher)
        self.add(node, DCAT.contactPoint, self.contact)
        self.add(node, DCTERMS.language, self.language)
        for word in keywords:
            self.add(node, DCAT.keyword, Literal(word, lang="en"))
        self.add(node, DCAT.theme, self.concept(THEME[theme], _THEMES[theme]))
        self.add(
            node, DCTERMS.accrualPeriodicity, self.typed(FREQUENCY[frequency], DCTERMS.Frequency)
        )
        if modified is not None:
            self.add(node, DCTERMS.modified, Literal(modified, datatype=XSD.dateTime))
        if coverage.bbox is not None:
            place = URIRef(f"{node}#spatial")
            self.typed(place, DCTERMS.Location)
            self.add(place, DCAT.bbox, Literal(_bbox_wkt(coverage.bbox), datatype=GSP.wktLiteral))
            self.add(node, DCTERMS.spatial, place)
        if coverage.start is not None or coverage.end is not None:
            span = URIRef(f"{node}#temporal")
            self.typed(span, DCTERMS.PeriodOfTime)
            if coverage.start is not None:
                self.add(span, DCAT.startDate, Literal(coverage.start, datatype=XSD.dateTime))
            if coverage.end is not None:
                self.add(span, DCAT.endDate, Literal(coverage.end, datatype=XSD.dateTime))
            self.add(node, DCTERMS.temporal, span)
        return node

    def distribution(
        self,
        dataset: URIRef,
        fragment: str,
        title: str,
        access: str,
        media_type: str,
        *,
        download: bool,
        conforms_to: URIRef | None = None,
    ) -> None:
        """A distribution of ``dataset`` at ``access`` (also its download URL when
        ``download``)."""
        node = URIRef(f"{dataset}#{fragment}")
        self.typed(node, DCAT.Distribution)
        self.add(dataset, DCAT.distribution, node)
        self.add(node, DCTERMS.title, Literal(title, lang="en"))
        self.add(node, DCAT.accessURL, self.url(access))
        if download:
            self.add(node, DCAT.downloadURL, self.url(access))
        self.add(node, DCAT.mediaType, self.typed(URIRef(IANA + media_type), DCTERMS.MediaType))
        if media_type in _FORMATS:
            self.add(
                node,
                DCTERMS.format,
                self.typed(FILE_TYPE[_FORMATS[media_type]], DCTERMS.MediaTypeOrExtent),
            )
        self.add(node, DCTERMS.license, self.licence)
        if conforms_to is not None:
            self.add(node, DCTERMS.conformsTo, self.typed(conforms_to, DCTERMS.Standard))


def build(
    base: str,
    settings: OpenDataSettings,
    published: Published,
    coverages: dict[str, Coverage],
    town_bbox: tuple[float, float, float, float] | None,
) -> Graph:
    """The catalogue of ``published`` with its links under ``base`` (the API's root)."""
    b = _Builder(base, settings)
    b.shared()
    for d in published.datasets:
        if isinstance(d, SeriesDataset):
            node = b.dataset(
                d.dataset_id,
                d.title,
                d.description,
                d.keywords,
                d.theme,
                d.frequency,
                coverages.get(d.dataset_id, Coverage(None, None, None)),
                coverages.get(d.dataset_id, Coverage(None, None, None)).end,
            )
            path = f"/opendata/datasets/{d.dataset_id}/series"
            b.distribution(
                node,
                "csv",
                f"{d.title} (CSV; period and resolution asked)",
                path + ".csv",
                "text/csv",
                download=False,
            )
            b.distribution(
                node,
                "parquet",
                f"{d.title} (Parquet; period and resolution asked)",
                path + ".parquet",
                PARQUET,
                download=False,
            )
        else:
            assert isinstance(d, DocumentDataset)
            cover = Coverage(town_bbox if d.spatial else None, None, None)
            node = b.dataset(
                d.dataset_id, d.title, d.description, d.keywords, d.theme, d.frequency, cover, None
            )
            for i, (path, media_type, title) in enumerate(d.distributions):
                b.distribution(node, f"d{i}", title, path, media_type, download=True)
    for layer in published.layers:
        _layer(b, layer)
    return b.graph


def _layer(b: _Builder, layer: Layer) -> None:
    dataset_id = LAYER_PREFIX + layer.layer_id
    node = b.dataset(
        dataset_id,
        layer.title,
        f"The map layer {layer.layer_id!r}: {layer.feature_count} features"
        f" ({layer.geometry_type}), from the source CRS {layer.source_crs}.",
        ("map layer", layer.layer_id),
        "REGI",
        "IRREG",
        Coverage(layer.bbox, None, None),
        layer.imported_at,
    )
    path = f"/opendata/datasets/{dataset_id}/features"
    b.distribution(
        node,
        "geojson",
        f"{layer.title} (GeoJSON)",
        path + ".geojson",
        "application/geo+json",
        download=True,
    )
    b.distribution(
        node,
        "gpkg",
        f"{layer.title} (GeoPackage, source CRS)",
        path + ".gpkg",
        GEOPACKAGE,
        download=True,
    )
    b.distribution(
        node,
        "ogcapi",
        f"{layer.title} (OGC API - Features)",
        f"/collections/{layer.layer_id}",
        "application/geo+json",
        download=False,
        conforms_to=OGC_FEATURES,
    )


def jsonld(graph: Graph) -> bytes:
    """The catalogue as JSON-LD (expanded, every term a full IRI)."""
    return graph.serialize(format="json-ld", auto_compact=True).encode()


def turtle(graph: Graph) -> bytes:
    """The catalogue as Turtle."""
    return graph.serialize(format="turtle").encode()
