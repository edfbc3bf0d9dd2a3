"""The HTTP API: FastAPI app factory, routes, problem+json errors and the map page."""
