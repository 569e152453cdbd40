"""Meter model definitions (data files) and the pure decoding of their registers."""

from .definition import MeterModel, Register, get_model, load_models

__all__ = ["MeterModel", "Register", "get_model", "load_models"]
