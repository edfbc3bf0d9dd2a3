"""The hub's process wiring: settings, embedded services, the CLI and the demo supervisor."""
