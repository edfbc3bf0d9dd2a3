"""The Danube monitor: gauge alerts with a lifecycle, notifications, flood impact."""
