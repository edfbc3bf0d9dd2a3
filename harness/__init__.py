"""What the tests and the benchmarks both use to run the hub as its clients meet it.

A live API server (in a thread or as ``smartcity serve``), offline headless Chromium,
and QGIS reading and drawing the hub's layers. Tests and benchmarks import this package,
never each other.
"""
