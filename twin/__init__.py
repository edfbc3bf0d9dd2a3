"""The digital twin: municipal assets, their sensors and their live state."""
