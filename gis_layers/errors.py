"""Errors of layer import and lookup, with the HTTP status the API maps them to."""


class LayerError(Exception):
    """Base class of GIS layer errors."""

    status_code = 400
    title = "Layer error"


class LayerImportError(LayerError):
    """A file cannot be imported; the message says which file, layer or feature, and why."""

    status_code = 422
    title = "Layer import failed"


class LayerNotFound(LayerError):
    """No layer has the requested id."""

    status_code = 404
    title = "Collection not found"


class FilterError(LayerError):
    """A filter (CQL2, property filter, datetime) cannot be applied; the message says why."""

    status_code = 400
    title = "Invalid filter"


class TileOutOfRange(LayerError):
    """A tile outside its tile matrix set (OGC API - Tiles answers 404)."""

    status_code = 404
    title = "Tile not found"


class RasterNotFound(LayerError):
    """No raster has the requested id."""

    status_code = 404
    title = "Raster not found"


class RasterQueryError(LayerError):
    """A raster read that cannot be answered as asked (too large, outside, ...)."""

    status_code = 400
    title = "Invalid raster request"
