"""wattlog: read Modbus power meters, keep every reading, tell which location uses the most energy."""

__version__ = "0.1.0"
