"""``python -m hub`` is the ``smartcity`` command."""

from hub.cli import app

if __name__ == "__main__":
    app()
