"""The Danube monitor: gauge thresholds now; alerts and flood impact are issue 5."""
