"""The `wattlog` group: global options and one line per command family."""

from __future__ import annotations

import logging
from importlib import import_module

import click

from .. import __version__
from .options import CONTEXT


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# name -> (module, function): a command's module is imported when it runs (or for `wattlog --help`),
# so `wattlog report` does not import the logger, the web app, MQTT and the PLC exporter.
COMMANDS = {"read": ("devices", "read"), "scan": ("devices", "scan"), "sim": ("devices", "sim"),
            "run": ("service", "run"), "demo": ("service", "demo"), "init": ("service", "init"),
            "check": ("service", "check"), "export": ("data", "export"), "import-csv": ("data", "import_csv"),
            "archive": ("data", "archive"), "rollups": ("data", "rollups"), "report": ("report", "report"), "workbook": ("documents", "workbook"),
            "monthly": ("documents", "monthly"), "tariffs": ("tariffs", "tariffs"), "bill": ("bill", "bill"),
            "events": ("alarms", "events"), "alarms": ("alarms", "alarms"), "plc": ("plc", "plc"),
            "web": ("web", "web"), "web-password": ("web", "web_password")}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context | None, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module, function = COMMANDS[name]
            self.add_command(getattr(import_module(f".{module}", __package__), function), name)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="wattlog")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """wattlog: read Modbus power meters, keep every reading, and tell which location uses the
    most energy, when, and what it costs.

    \b
    Example:
      wattlog sim --tcp 127.0.0.1:5020 &
      wattlog read tcp://127.0.0.1:5020/1
    """
    _setup_logging(verbose)


def all_commands() -> dict[str, click.Command]:
    """Every command, imported (the docs and tests walk them)."""
    return {name: main.get_command(None, name) for name in main.list_commands(None)}  # type: ignore[misc]
