"""Outputs fed from the spool: databases, CSV files, MQTT; and live values for the terminal and web."""

from .base import Sink, SinkWorker

__all__ = ["Sink", "SinkWorker"]
