"""`wattlog workbook NAME|all` (Excel) and `wattlog monthly` (the site's month as HTML and PDF)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import click

from ..errors import WattlogError
from .options import (
    CONTEXT,
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

HEATMAP_BY, COST_BY = ("date", "weekday"), ("location", "meter")


WORKBOOK_HELP = """Write the report NAME (or every report: all) over local dates [--from, --to) as an Excel workbook.

An 'About' sheet (site, period, time zone, generated at, tariff, links to the sheets), then one sheet per
table of the report: real numbers with formats (kWh, %, money in the tariff's currency, exact to the
sen), a frozen header row, the notes under the table, a colour scale on heatmaps, and charts for
rankings, profiles, monthly demand, after-hours and cost tables. With `all`, the cost report is
included when a tariff is configured or given.

\b
Examples:
  wattlog workbook ranking --config site.toml --from 2026-10-01 --to 2026-11-01 -o ranking.xlsx
  wattlog workbook all --config site.toml --from 2026-10 --to 2026-11 -o october.xlsx
  wattlog workbook heatmap --db sqlite:///data/wattlog.db --from 2026-10 --to 2026-11 --by weekday -o when.xlsx
"""


@click.command("workbook", context_settings=CONTEXT, help=WORKBOOK_HELP)
@click.argument("name", type=ReportName("all"), metavar="NAME|all")
@click.option("--from", "start", required=True, metavar="DATE", help="First local date (2026-10-01 or 2026-10).")
@click.option("--to", "end", required=True, metavar="DATE", help="Day after the last (exclusive).")
@click.option("-o", "--output", required=True, metavar="FILE.xlsx", help="The workbook to write.")
@site_options("Site config (database, site, time zone, settings, tariff).")
@settings_options()
@tariff_options()
@click.option("--location", help="Only this location.")
@click.option("--window", type=click.Choice(["15", "30", "60"]), help="demand: block minutes (Thailand 15).")
@click.option("--top", type=int, help="demand: blocks listed per month.")
@click.option("--by", metavar="WHAT", help="heatmap: date or weekday; cost: location or meter.")
@click.option("--resolution", type=click.Choice(["15", "30", "60"]), help="profile: minutes per slot.")
def workbook(name: str, start: str, end: str, output: str, db_url: str | None, config_path: str | None,
             site: str | None, tz: str | None, main_meter: str | None, holidays: tuple[str, ...],
             working_hours: str | None, working_days: str | None, tariff: str | None, what_if: str | None,
             adjust: tuple[str, ...], location: str | None, window: str | None, top: int | None, by: str | None,
             resolution: str | None) -> None:
    from ..documents.workbook import Meta, build
    from ..reports.registry import REPORTS
    from ..store import Store

    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if last <= first:
        raise click.UsageError(f"--to {last} must be after --from {first} (the range is [from, to))")
    out = _output(output, (".xlsx",))
    target = resolve_target(db_url, config_path, site, tz)
    settings = report_settings(target, main_meter, holidays, working_hours, working_days)
    given = {"by": by, "resolution": int(resolution) if resolution else None,
             "window": int(window) if window else None, "top": top, "tariff": tariff, "what_if": what_if}
    if name != "all":
        ignored = [k for k, v in given.items() if v is not None and k not in REPORTS[name].options]
        if ignored:
            raise click.UsageError(f"--{ignored[0].replace('_', '-')} does not apply to the {name} report")
    elif by is not None and by not in HEATMAP_BY + COST_BY:
        raise click.UsageError(f"--by {by!r}: use date or weekday (heatmap), location or meter (cost)")
    names = list(REPORTS) if name == "all" else [name]
    if "cost" in names:  # loaded here, with the config's own tariff folders; else the config's tariffs
        given["tariff"], given["what_if"] = site_tariffs(target, tariff, what_if, adjust)
    notes = []
    if name == "all" and given["tariff"] is None:
        names.remove("cost")
        notes.append("cost: left out, no tariff (set [tariff] name in the site config, or give --tariff)")
    results = []
    try:
        with Store(target.url, site=target.name, tz=settings.timezone) as store:
            check_location(store, location)
            for n in names:
                spec = REPORTS[n]
                options = {k: v for k, v in given.items() if v is not None and k in spec.options
                           and not (k == "by" and by not in (HEATMAP_BY if n == "heatmap" else COST_BY))}
                results.append((n, spec.run(store, first, last, settings, location=location, **options)))
    except WattlogError as exc:
        fail(str(exc))
    cost = next((r for n, r in results if n == "cost"), None)
    meta = Meta(target.name, first, last, settings.timezone, datetime.now(settings.tz),
                f"{cost.tariff_name} ({cost.tariff})" if cost else "", settings.main_meter, notes)
    wb = build(results, meta)
    try:
        wb.save(out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc} (fix: check the folder exists and is writable)")
    click.echo(f"wrote {out}: {len(wb.sheetnames)} sheets ({', '.join(names)})")


MONTHLY_HELP = """The site's monthly report for management, as a print-ready HTML page and a PDF.

Total kWh and the estimated bill, which location uses most (with the unmetered remainder), the hour ×
weekday heatmap per location, the average day, maximum demand (the block, each location's kW in it,
the last 12 months), after-hours use and base load, power factor and quality, the cost per location
and component, and the data's gaps and the tariff's unverified numbers. The HTML is one file (inline
CSS and SVG, no scripts, A4 print styles); the PDF is drawn with fpdf2. Without -o both are written as
SITE-MONTH.html and SITE-MONTH.pdf.

\b
Examples:
  wattlog monthly --config site.toml --month 2026-10
  wattlog monthly --config site.toml --month 2026-10 -o october.pdf
  wattlog monthly --db sqlite:///data/wattlog.db --month 2026-10 --main-meter incomer -o oct.html -o oct.pdf
"""


@click.command("monthly", context_settings=CONTEXT, help=MONTHLY_HELP)
@click.option("--month", required=True, metavar="YYYY-MM", help="The calendar month (site time).")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FILE.html|FILE.pdf",
              help="Where to write (repeatable; the suffix picks the format).")
@site_options("Site config (database, site, time zone, settings, tariff).")
@settings_options()
@tariff_options()
@click.option("--no-cost", is_flag=True, help="Leave the bill out even if a tariff is configured.")
def monthly(month: str, outputs: tuple[str, ...], db_url: str | None, config_path: str | None, site: str | None,
            tz: str | None, main_meter: str | None, holidays: tuple[str, ...], working_hours: str | None,
            working_days: str | None, tariff: str | None, what_if: str | None, adjust: tuple[str, ...],
            no_cost: bool) -> None:
    from ..documents import html, pdf
    from ..documents.monthly import gather, month_of
    from ..documents.usage_sections import document
    from ..store import Store

    try:
        first = month_of(month)
    except ValueError:
        raise click.BadParameter(f"{month!r} is not a month: write e.g. 2026-10", param_hint="--month") from None
    target = resolve_target(db_url, config_path, site, tz)
    paths = [_output(o, (".html", ".htm", ".pdf")) for o in outputs] or \
        [Path(f"{_slug(target.name)}-{first:%Y-%m}{ext}") for ext in (".html", ".pdf")]
    settings = report_settings(target, main_meter, holidays, working_hours, working_days)
    tariff, what_if = site_tariffs(target, tariff, what_if, adjust)
    if no_cost:
        tariff = what_if = None
    try:
        with Store(target.url, site=target.name, tz=settings.timezone) as store:
            data = gather(store, target.name, first, settings, tariff, what_if)
    except WattlogError as exc:  # NoData names the months that have data
        fail(str(exc))
    doc = document(data)
    for path in paths:
        try:
            if path.suffix.lower() == ".pdf":
                path.write_bytes(pdf.render(doc))
            else:
                path.write_text(html.render(doc), encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {path}: {exc.strerror or exc} (fix: check the folder exists and is writable)")
        click.echo(f"wrote {path}")


def _output(text: str, suffixes: tuple[str, ...]) -> Path:
    path = Path(text)
    if path.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{text!r}: the file name must end in {' or '.join(suffixes)}", param_hint="-o")
    return path


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "site"
