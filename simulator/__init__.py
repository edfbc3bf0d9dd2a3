"""Telemetry simulator for the Turnu Măgurele hub: signal models and a tick engine.

The package produces MQTT topics and payloads only; publishing them is the job of
the module that wires the simulator to paho.
"""

from simulator.engine import Intervals, Message, SimDevice, Simulator
from simulator.signals import FloodWave

__all__ = ["FloodWave", "Intervals", "Message", "SimDevice", "Simulator"]
