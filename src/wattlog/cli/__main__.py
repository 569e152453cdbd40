"""`python -m wattlog.cli …` runs the command (the tests call it that way)."""

from .app import main

main()
