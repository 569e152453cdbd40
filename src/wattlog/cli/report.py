"""`wattlog report NAME`: run a report from analytics.registry and print it as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from typing import Any

import click

from ..errors import ReportError
from ..reports.registry import REPORTS
from ..analytics.settings import ReportSettings, parse_days, parse_hours
from ..reports.result import Table, to_jsonable
from ..errors import ConfigError, WattlogError
from .options import Target, resolve_target

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _help() -> str:
    lines = ["Run the report NAME over local dates [--from, --to) and print it.", "",
             "With --config the database, site, time zone and report settings come from the site config;",
             "without it --db is required. Options given here override the config.", "", "\b", "Reports:"]
    lines += [f"  {name:<11} {spec.summary}" for name, spec in REPORTS.items()]
    lines += ["", "\b", "Examples:"] + [f"  {spec.example}" for spec in REPORTS.values()]
    return "\n".join(lines)


def _date(value: str, option: str) -> date:
    """2026-10-01, or 2026-10 for the first of the month."""
    try:
        return date.fromisoformat(value + "-01" if len(value) == 7 else value)
    except ValueError:
        raise click.UsageError(f"{option} {value!r} is not a date: write e.g. 2026-10-01 (or 2026-10)") from None


def settings_from_config(cfg: Any) -> ReportSettings:
    """The site's report settings: cfg.report_settings if the config builds one, else its [reports]
    table (cfg.reports, a dict) read by ReportSettings.from_dict, else the defaults; time zone of the site."""
    built = getattr(cfg, "report_settings", None)
    if isinstance(built, ReportSettings):
        return built
    table = getattr(cfg, "reports", None) or {}
    return ReportSettings.from_dict(dict(table), timezone=cfg.timezone)


def report_settings(target: Target, main_meter: str | None, holidays: tuple[str, ...], working_hours: str | None,
                    working_days: str | None) -> ReportSettings:
    """The site's report settings with the command line's overrides (bad values: a one-line error)."""
    try:
        settings = settings_from_config(target.config) if target.config else ReportSettings()
        return settings.with_(
            timezone=target.tz, main_meter=main_meter,
            holidays=settings.holidays | {_date(h, "--holiday") for h in holidays},
            working_hours=parse_hours(working_hours) if working_hours else None,
            working_days=parse_days(working_days) if working_days else None)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except ConfigError as exc:
        _fail(str(exc), 2)
        raise  # not reached: _fail exits


def site_tariffs(cfg: Any, tariff: str | None, what_if: str | None) -> tuple[Any, Any]:
    """--tariff and --what-if, else the config's, loaded with its own tariff folders (None where not set)."""
    from ..tariffs.load import load_tariff

    tariff = tariff or cfg.tariff
    what_if = what_if or cfg.what_if
    try:
        return (load_tariff(tariff, cfg.tariff_dirs) if tariff else None,
                load_tariff(what_if, cfg.tariff_dirs) if what_if else None)
    except ConfigError as exc:
        _fail(str(exc), 2)
        raise  # not reached


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command("report", context_settings=CONTEXT, help=_help())
@click.argument("name", type=click.Choice(list(REPORTS)), metavar="NAME")
@click.option("--from", "start", required=True, metavar="DATE", help="First local date (2026-10-01 or 2026-10).")
@click.option("--to", "end", required=True, metavar="DATE", help="Day after the last (exclusive).")
@click.option("--db", "db_url", metavar="URL", help="Database URL, e.g. sqlite:///data/wattlog.db.")
@click.option("--config", "config_path", metavar="FILE", help="Site config (database, site, time zone, settings).")
@click.option("--site", help="Site name in the database (default: from --config, else the only one).")
@click.option("--location", help="Only this location.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--table", "table_name", metavar="NAME", help="With --format csv: which of the report's tables.")
@click.option("--tz", help="Site time zone, e.g. Asia/Kuala_Lumpur (default: the config's).")
@click.option("--main-meter", metavar="METER", help="The meter measuring the whole site.")
@click.option("--holiday", "holidays", multiple=True, metavar="DATE", help="A public holiday (repeatable).")
@click.option("--working-hours", metavar="HH:MM-HH:MM", help="e.g. 08:00-18:00.")
@click.option("--working-days", metavar="DAYS", help="e.g. mon-fri or mon-sat.")
@click.option("--window", type=click.Choice(["15", "30", "60"]), help="demand: block minutes (Thailand 15).")
@click.option("--top", type=int, help="demand: blocks listed per month.")
@click.option("--by", metavar="WHAT", help="heatmap: date or weekday; cost: location or meter.")
@click.option("--resolution", type=click.Choice(["15", "30", "60"]), help="profile: minutes per slot.")
@click.option("--tariff", metavar="NAME|FILE", help="cost: the tariff to price with.")
@click.option("--what-if", "what_if", metavar="NAME|FILE", help="cost: a second tariff to compare.")
def report(name: str, start: str, end: str, db_url: str | None, config_path: str | None, site: str | None,
           location: str | None, fmt: str, table_name: str | None, tz: str | None, main_meter: str | None,
           holidays: tuple[str, ...], working_hours: str | None, working_days: str | None, window: str | None,
           top: int | None, by: str | None, resolution: str | None, tariff: str | None, what_if: str | None) -> None:
    from ..store import Store

    first, last = _date(start, "--from"), _date(end, "--to")
    if last <= first:
        raise click.UsageError(f"--to {last} must be after --from {first} (the range is [from, to))")
    target = resolve_target(db_url, config_path, site, tz)
    settings = report_settings(target, main_meter, holidays, working_hours, working_days)
    spec = REPORTS[name]
    if name == "cost" and target.config is not None:  # the site's tariff (and its own tariff folders)
        tariff, what_if = site_tariffs(target.config, tariff, what_if)  # type: ignore[assignment]
    given = {"by": by, "resolution": int(resolution) if resolution else None,
             "window": int(window) if window else None, "top": top, "tariff": tariff, "what_if": what_if}
    options = {k: v for k, v in given.items() if v is not None and k in spec.options}
    ignored = [k for k, v in given.items() if v is not None and k not in spec.options]
    if ignored:
        raise click.UsageError(f"--{ignored[0].replace('_', '-')} does not apply to the {name} report")
    try:
        with Store(target.url, site=target.site, tz=settings.timezone) as store:
            _check_location(store, location)
            result = spec.run(store, first, last, settings, location=location, **options)
    except WattlogError as exc:  # ReportError, StoreError: one line with the fix
        _fail(str(exc))
    _print(result, fmt, table_name)


def _check_location(store: Any, location: str | None) -> None:
    if location is None:
        return
    known = sorted({m["location"] or m["name"] for m in store.meters()})
    if location not in known:
        raise ReportError(f"no location {location!r}", f"use one of: {', '.join(known) or '(no meters yet)'}")


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.3f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.1f}"
    return str(v)


def _print(result: Any, fmt: str, table_name: str | None) -> None:
    if fmt == "json":
        click.echo(json.dumps(to_jsonable(result), indent=2, ensure_ascii=False))
        return
    tables: list[Table] = result.tables()
    if fmt == "csv":
        chosen = next((t for t in tables if t.name == table_name), None) if table_name else tables[0]
        if chosen is None:
            _fail(f"no table {table_name!r} in this report (fix: use one of {', '.join(t.name for t in tables)})")
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(chosen.columns)
        out.writerows([["" if v is None else v for v in row] for row in chosen.rows])
        return
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console()
    for t in tables:
        rt = RichTable(title=t.title, title_justify="left")
        for c in t.columns:
            rt.add_column(c, justify="left" if c in ("location", "meters", "flag", "month", "date") else "right")
        for row in t.rows:
            rt.add_row(*(_cell(v) for v in row))
        console.print(rt)
        for note in t.notes:
            console.print(f"[dim]• {note}[/dim]", highlight=False)
