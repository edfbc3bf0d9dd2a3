"""The Danube monitor: gauge conditions fed to the alert engine (:mod:`alerts`), gauge
levels and their trend, the flood extent and its impact."""
