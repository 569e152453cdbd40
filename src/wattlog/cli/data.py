"""`wattlog export` and `wattlog import-csv`: readings out of and into a database."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .options import CONTEXT, parse_when, resolve_target, site_options


def _store(target, gap_seconds: float = 60.0):  # type: ignore[no-untyped-def]
    from ..store import Store

    return Store(target.url, site=target.name, tz=target.tz, gap_seconds=gap_seconds)


@click.command(context_settings=CONTEXT)
@site_options("Take the database, site and time zone from this config.",
              "Time zone of --from/--to and of the output (default: the site's).")
@click.option("--meter", help="Only this meter (location label).")
@click.option("--from", "start", metavar="WHEN", help="From this local date/time (inclusive), e.g. 2026-11-01.")
@click.option("--to", "end", metavar="WHEN", help="Up to this local date/time (exclusive).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here instead of stdout.")
def export(db_url, config_path, site, tz, meter, start, end, fmt, output) -> None:  # type: ignore[no-untyped-def]
    """Export raw readings as CSV (the proof of concept's columns first) or a JSON array.

    \b
    Examples:
      wattlog export --db sqlite:///data/wattlog.db --meter office --from 2026-11-01 --to 2026-12-01 -o office.csv
      wattlog export --config wattlog.toml --format json | jq '.[0]'
    """
    from ..store import StoreError
    from ..store.export import export_rows

    target = resolve_target(db_url, config_path, site, tz)
    lo, hi = parse_when(start, target.tz, "--from"), parse_when(end, target.tz, "--to")
    # -o FILE: written to FILE.part and renamed only when complete, so an unreachable database
    # (or any failure) never leaves a header-only or truncated FILE behind
    part = Path(output + ".part") if output else None
    out = part.open("w", encoding="utf-8", newline="") if part else sys.stdout
    try:
        with _store(target) as store:
            n = export_rows(store, meter, lo, hi, fmt, out, target.tz)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if part:
            out.close()
            if sys.exc_info()[0] is not None:
                part.unlink(missing_ok=True)
    if part:
        part.replace(output)
    click.echo(f"{n} readings exported" + (f" to {output}" if output else ""), err=True)


@click.command("import-csv", context_settings=CONTEXT)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--meter", required=True, help="The meter (location label) these files belong to.")
@site_options("Take the database, site and time zone from this config.",
              "Time zone of the files' naive timestamps (default: the site's, Asia/Kuala_Lumpur).")
@click.option("--gap-seconds", type=float, default=600.0, show_default=True,
              help="Rows further apart are a gap (energy is not integrated across it). The proof of concept "
                   "wrote a row every 5 minutes.")
def import_csv(files, meter, db_url, config_path, site, tz, gap_seconds) -> None:  # type: ignore[no-untyped-def]
    """Import the proof of concept's daily CSV files (naive local timestamps); safe to repeat.

    \b
    Example:
      wattlog import-csv logs/rx380_2025-03-*.csv --meter office --db sqlite:///data/wattlog.db
    """
    from rich.progress import Progress

    from ..store import StoreError
    from ..store.importer import import_poc_csv

    target = resolve_target(db_url, config_path, site, tz)
    with Progress(transient=True) as bar:
        task = bar.add_task("importing", total=len(files))

        def progress(path, result) -> None:  # type: ignore[no-untyped-def]
            bar.update(task, completed=result.files - 1,
                       description=f"{Path(path).name}: {result.rows_read:,} rows read")

        try:
            with _store(target, gap_seconds) as store:
                result = import_poc_csv(store, files, meter, target.tz, progress)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{result.files} file(s), {result.rows_read} rows read: {result.rows_inserted} new, "
               f"{result.rows_duplicate} already there, {len(result.skipped)} skipped")
    for s in result.skipped[:20]:
        click.echo(f"  skipped {s}", err=True)
    if len(result.skipped) > 20:
        click.echo(f"  … and {len(result.skipped) - 20} more", err=True)
    for note in result.notes:
        click.echo(f"  note: {note}", err=True)
