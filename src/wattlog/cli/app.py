"""The `wattlog` group: global options and one line per command family."""

from __future__ import annotations

import logging

import click

from .. import __version__
from .options import CONTEXT


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group(context_settings=CONTEXT)
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


def _register() -> None:
    from .alarms import alarms, events
    from .bill import bill
    from .data import archive, export, import_csv, rollups
    from .devices import read, scan, sim
    from .documents import monthly, workbook
    from .plc import plc
    from .report import report
    from .service import check, demo, init, run
    from .tariffs import tariffs
    from .web import web, web_password

    for command in (read, scan, sim, run, demo, init, check, export, import_csv, archive, rollups, report, workbook, monthly,
                    tariffs, bill, events, alarms, plc, web, web_password):
        main.add_command(command)


_register()
