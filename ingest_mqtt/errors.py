"""Validation errors of incoming MQTT messages; each becomes a dead letter with its reason."""


class PayloadError(ValueError):
    """A message or one of its records is invalid; ``reason`` says what and where."""

    def __init__(self, reason: str, record_index: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.record_index = record_index
