"""MQTT in and out: topics, payload parsers, the paho client wrapper, the batching worker,
and the publisher the hub's own events go out through. The only package that imports an
MQTT client library."""
