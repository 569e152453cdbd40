"""Outputs downstream of the spool: the spool itself, databases, CSV files, MQTT."""

from .base import Sink, SinkWorker

__all__ = ["Sink", "SinkWorker"]
