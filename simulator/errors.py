"""Exceptions raised by the simulator package."""


class SimulatorError(Exception):
    """Base class of every error the simulator raises on purpose."""


class InvalidInputError(SimulatorError, ValueError):
    """A device list, seed, interval, flood wave or time that the simulator cannot use.

    The message says what is wrong and what to pass instead.
    """
