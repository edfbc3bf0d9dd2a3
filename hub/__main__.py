"""``python -m hub`` is the ``smartcity`` command."""

from hub.cli import app

app()
