"""The `wattlog` command: one click group (app.py) and one module per command family."""

from .app import main

__all__ = ["main"]
