"""The hub's process wiring: embedded services, the CLI and the demo supervisor (settings live in
:mod:`settings`, below every package)."""
