"""Parking operations (occupancy, alerts, forecasts): issue pending; the demo's bay and lot
sensors already flow through ingestion and appear on the map."""
