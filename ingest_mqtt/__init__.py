"""MQTT ingestion: topics, payload parsers, the paho client wrapper and the batching worker."""
