"""Open data (the strategy's project 28): a DCAT-AP 3 catalogue of the hub's public
datasets and their downloads.

- :mod:`opendata.datasets`: which datasets the hub can publish, and which it never may;
- :mod:`opendata.publication`: which of them an administrator made public;
- :mod:`opendata.catalog`: the catalogue as an RDF graph (rdflib), JSON-LD and Turtle;
- :mod:`opendata.series`: aggregated sensor series streamed from the rollups as CSV or
  Parquet, a server-side cursor and bounded batches, never a whole year in memory;
- :mod:`opendata.features`: a public layer's features as GeoJSON (streamed) or GeoPackage.

Routes are in ``api/routes/opendata.py``; ``docs/opendata.md`` is the user's guide.
"""
