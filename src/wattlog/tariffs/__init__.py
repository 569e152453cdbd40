"""Tariffs: the model, reading and validating tariff files (data/ holds the shipped ones), and billing."""
