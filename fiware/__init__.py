"""FIWARE's exchange format: the hub's live state as NGSI-LD entities of the Smart Data
Models, read-only.

:mod:`fiware.entities` holds the entity model and its two forms (normalized and
key-values), :mod:`fiware.query` the query parameters, :mod:`fiware.registry` the entity
types a domain provides (parking's in :mod:`fiware.parking`), :mod:`fiware.errors` the
NGSI-LD problem types. No FastAPI here: :mod:`api.routes.ngsi_ld` serves them.
"""
