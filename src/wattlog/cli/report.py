"""`wattlog report NAME`: run a report from reports.registry and print it as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import click

from ..errors import WattlogError
from ..reports.result import Table, to_jsonable
from .options import (
    CONTEXT,
    LazyHelpCommand,
    ReportName,
    check_location,
    fail,
    parse_date,
    report_settings,
    resolve_target,
    settings_options,
    site_options,
    site_tariffs,
    tariff_options,
)


def _help() -> str:
    from ..reports.registry import REPORTS

    lines = ["Run the report NAME over local dates [--from, --to) and print it.", "",
             "With --config the database, site, time zone and report settings come from the site config;",
             "without it --db is required. Options given here override the config.", "", "\b", "Reports:"]
    lines += [f"  {name:<11} {spec.summary}" for name, spec in REPORTS.items()]
    lines += ["", "\b", "Examples:"] + [f"  {spec.example}" for spec in REPORTS.values()]
    return "\n".join(lines)


@click.command("report", cls=LazyHelpCommand, context_settings=CONTEXT, help_factory=_help,
               short_help="Run the report NAME over local dates [--from, --to) and print it.")
@click.argument("name", type=ReportName(), metavar="NAME")
@click.option("--from", "start", required=True, metavar="DATE", help="First local date (2026-10-01 or 2026-10).")
@click.option("--to", "end", required=True, metavar="DATE", help="Day after the last (exclusive).")
@site_options()
@click.option("--location", help="Only this location.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--table", "table_name", metavar="NAME", help="With --format csv: which of the report's tables.")
@settings_options()
@click.option("--window", type=click.Choice(["15", "30", "60"]), help="demand: block minutes (Thailand 15).")
@click.option("--top", type=int, help="demand: blocks listed per month.")
@click.option("--by", metavar="WHAT", help="heatmap: date or weekday; cost: location or meter.")
@click.option("--resolution", type=click.Choice(["15", "30", "60"]), help="profile: minutes per slot.")
@tariff_options("cost: the tariff to price with (default: the config's).")
def report(name: str, start: str, end: str, db_url: str | None, config_path: str | None, site: str | None,
           location: str | None, fmt: str, table_name: str | None, tz: str | None, main_meter: str | None,
           holidays: tuple[str, ...], working_hours: str | None, working_days: str | None, window: str | None,
           top: int | None, by: str | None, resolution: str | None, tariff: str | None, what_if: str | None,
           adjust: tuple[str, ...] = ()) -> None:
    from ..store import Store

    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if last <= first:
        raise click.UsageError(f"--to {last} must be after --from {first} (the range is [from, to))")
    target = resolve_target(db_url, config_path, site, tz)
    settings = report_settings(target, main_meter, holidays, working_hours, working_days)
    from ..reports.registry import REPORTS

    spec = REPORTS[name]
    if name in ("cost", "demand"):  # loaded here, with the config's tariff folders; else the config's timeline
        asked = what_if
        tariff, what_if = site_tariffs(target, tariff, what_if, adjust)
        what_if = what_if if name == "cost" else asked  # demand: the tariff's window and hours, no what-if
    given = {"by": by, "resolution": int(resolution) if resolution else None,
             "window": int(window) if window else None, "top": top, "tariff": tariff, "what_if": what_if}
    options = {k: v for k, v in given.items() if v is not None and k in spec.options}
    ignored = [k for k, v in given.items() if v is not None and k not in spec.options]
    if ignored:
        raise click.UsageError(f"--{ignored[0].replace('_', '-')} does not apply to the {name} report")
    try:
        with Store(target.url, site=target.name, tz=settings.timezone) as store:
            check_location(store, location)
            result = spec.run(store, first, last, settings, location=location, **options)
    except WattlogError as exc:  # ReportError, StoreError: one line with the fix
        fail(str(exc))
    _print(result, fmt, table_name)


def _print(result: Any, fmt: str, table_name: str | None) -> None:
    if fmt == "json":
        click.echo(json.dumps(to_jsonable(result), indent=2, ensure_ascii=False))
        return
    tables: list[Table] = result.tables()
    if fmt == "csv":
        chosen = next((t for t in tables if t.name == table_name), None) if table_name else tables[0]
        if chosen is None:
            fail(f"no table {table_name!r} in this report (fix: use one of {', '.join(t.name for t in tables)})")
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(chosen.columns)
        out.writerows([["" if v is None else v for v in row] for row in chosen.rows])
        return
    from .tables import console, print_table

    con = console()
    grids = any(t.name.startswith("heatmap:") for t in tables)
    for t in tables:
        if grids and t.name == "cells":  # the tidy table is for CSV; a person reads the grid
            for note in t.notes:
                con.print(f"• {note}", style="dim", highlight=False)
            continue
        print_table(con, t)
