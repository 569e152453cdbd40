"""`wattlog export` and `wattlog import-csv`: readings out of and into a database."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from .options import CONTEXT, fail, parse_when, resolve_target, site_options


def check_zone(zone: str) -> None:
    from ..errors import ConfigError
    from ..site import check_zone as check

    try:
        check(zone, "--tz")
    except ConfigError as exc:
        fail(str(exc), 2)


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
    """Export raw readings as CSV or a JSON array. CSV columns: timestamp (ISO 8601 with the offset),
    meter, the proof of concept's columns (voltage_l12 … frequency), the other quantities, flags.

    \b
    Examples:
      wattlog export --db sqlite:///data/wattlog.db --meter office --from 2026-11-01 --to 2026-12-01 -o office.csv
      wattlog export --config wattlog.toml --format json | jq '.[0]'
    """
    from ..store import StoreError
    from ..store.export import export_rows

    target = resolve_target(db_url, config_path, site, None)  # --tz here is the output's zone, not the site's
    zone = tz or target.tz
    check_zone(zone)
    lo, hi = parse_when(start, zone, "--from"), parse_when(end, zone, "--to")
    # -o FILE: written to FILE.part and renamed only when complete, so an unreachable database
    # (or any failure) never leaves a header-only or truncated FILE behind
    part = Path(output + ".part") if output else None
    out = part.open("w", encoding="utf-8", newline="") if part else sys.stdout
    try:
        with _store(target) as store:
            n = export_rows(store, meter, lo, hi, fmt, out, zone)
            where = _where_data_is(store, meter, zone) if n == 0 else ""
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if part:
            out.close()
            if sys.exc_info()[0] is not None:
                part.unlink(missing_ok=True)
    if part:
        part.replace(output)
    click.echo(f"{n} readings exported" + (f" to {output}" if output else "") + where, err=True)


def _where_data_is(store, meter: str | None, zone: str) -> str:  # type: ignore[no-untyped-def]
    """For an empty export: the range where the data is, so the next try hits it."""
    from zoneinfo import ZoneInfo

    extent = {m: e for m, e in store.extent().items() if meter in (None, m)}
    if not extent:
        known = sorted(m["name"] for m in store.meters())
        return (f": no meter {meter!r} at site {store.site!r} (meters: {', '.join(known) or 'none'})" if meter
                else f": site {store.site!r} in {store.shown} has no readings yet")
    tz = ZoneInfo(zone)
    first = min(e[0] for e in extent.values()).astimezone(tz)
    last = max(e[1] for e in extent.values()).astimezone(tz)
    return (f" in this range; data exists from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} ({zone}): "
            f"try --from {first:%Y-%m-%d} --to {(last + timedelta(days=1)):%Y-%m-%d}")


@click.command("import-csv", context_settings=CONTEXT)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--meter", help="The meter (location label) these files belong to (default: each row's meter column).")
@click.option("--new-meter", is_flag=True, help="Create --meter (or the file's meters) if the site does not have it.")
@site_options("Take the database, site and time zone from this config.",
              "Time zone of the files' naive timestamps (default: the site's, Asia/Kuala_Lumpur).")
@click.option("--gap-seconds", type=float, default=600.0, show_default=True,
              help="Rows further apart are a gap (energy is not integrated across it). The proof of concept "
                   "wrote a row every 5 minutes.")
def import_csv(files, meter, new_meter, db_url, config_path, site, tz, gap_seconds) -> None:  # type: ignore[no-untyped-def]
    """Import CSV files (the proof of concept's daily files, wattlog's own daily files, its
    export or its archive; .csv.gz too) into the database, which is created if new. Safe to repeat: rows already stored are
    not added again. A file at a time, all or none; bad lines are skipped and listed.

    \b
    Example:
      wattlog import-csv logs/rx380_2025-03-*.csv --meter office --new-meter --db sqlite:///data/wattlog.db
    """
    from ..store import StoreError
    from ..store.importer import import_poc_csv, name_problem

    if meter is not None and name_problem(meter):
        fail(f"--meter: {name_problem(meter)}", 2)
    target = resolve_target(db_url, config_path, site, None, new_ok=True)  # --tz here is the files' zone
    zone = tz or target.tz
    check_zone(zone)
    if tz and not target.recorded and not target.config:
        target.tz = tz  # a new site from --db: it is in the files' zone
    try:
        with _store(target, gap_seconds) as store:
            store.migrate()  # a new database is created here: importing old files is how most sites start
            known = ({m.name for m in target.config.meters} if target.config else set()) | \
                {m["name"] for m in store.meters()}

            def check_meter(name: str) -> str | None:
                if name in known or new_meter:
                    return None
                where = "the config" if target.config else f"site {target.name!r}"
                return (f"no meter {name!r} in {where} (known: {', '.join(sorted(known)) or 'none yet'}): "
                        f"check the spelling, or add --new-meter to create it")

            if meter is not None and check_meter(meter):
                fail(f"--meter: {check_meter(meter)}", 2)

            def progress(path, result) -> None:  # type: ignore[no-untyped-def]
                one = result.results[-1]
                click.echo(str(one).replace(path, Path(path).name, 1))
                for s in one.skipped[:5]:
                    click.echo(f"  skipped {s}", err=True)
                if len(one.skipped) > 5:
                    click.echo(f"  … and {len(one.skipped) - 5} more bad lines in {Path(path).name}", err=True)

            result = import_poc_csv(store, files, meter, zone, progress, check_meter)
    except StoreError as exc:
        fail(str(exc))
    if len(result.results) > 1:
        click.echo(f"{result.files} files, {result.rows_read:,} rows read: {result.rows_inserted:,} new, "
                   f"{result.rows_duplicate:,} already there, {len(result.skipped):,} skipped"
                   + (f"; {len(result.refused)} file(s) not imported" if result.refused else ""))
    for note in dict.fromkeys(result.notes):
        click.echo(f"  note: {note}", err=True)
    if result.refused:
        sys.exit(1)


@click.command(context_settings=CONTEXT)
@site_options("Take the database, site, archive folder and retention from this config.", "Not used (the site's zone).")
@click.option("--dir", "folder", type=click.Path(file_okay=False), help="Archive folder (default: the config's "
              "[archive] dir, data/archive).")
@click.option("--days", type=click.FloatRange(1, 36500), help="Archive raw readings older than this many days "
              "(default: the config's raw_retention_days, else 90).")
def archive(db_url, config_path, site, tz, folder, days) -> None:  # type: ignore[no-untyped-def]
    """Move raw readings older than the retention out of the database into monthly gzip CSV files,
    DIR/SITE/METER_YYYY-MM.csv.gz, in the CSV that `export` writes and `import-csv` reads back.
    Whole local days, each appended to its month's file; rows are deleted only once their file is
    complete on disk, so it is safe to interrupt and repeat. The service does the same every hour
    (turn it off with [archive] enabled = false: then old raw readings are just deleted).

    \b
    Examples:
      wattlog archive --config wattlog.toml
      wattlog archive --db sqlite:///data/wattlog.db --dir data/archive --days 90
      wattlog import-csv data/archive/mysite/office_2026-03.csv.gz --db sqlite:///data/wattlog.db
    """
    from ..store import StoreError
    from ..store.archive import archive as run_archive
    from ..store.archive import boundary

    target = resolve_target(db_url, config_path, site, None)
    cfg = target.config
    if folder is None:
        if cfg is None:
            fail("give --dir FOLDER (or --config, whose [archive] dir is the default)", 2)
        if cfg.archive_dir is None:
            fail(f"{cfg.path}: [archive] enabled = false; give --dir FOLDER to archive anyway", 2)
        folder = cfg.archive_dir
    days = days or (cfg.raw_retention_days if cfg else 90.0)
    try:
        with _store(target) as store:
            before = boundary(store, days)
            result = run_archive(store, Path(folder), before)
    except (StoreError, OSError) as exc:
        fail(str(exc))
    for path in result.files:
        click.echo(f"wrote {path}")
    click.echo(f"{result.archived:,} readings archived, {result.deleted:,} removed from the database "
               f"(those before {before.astimezone(store.tz):%Y-%m-%d})")
    for tag in result.waiting:
        click.echo(f"  {tag}: readings came in meanwhile; run it again to archive them", err=True)


@click.group(context_settings=CONTEXT)
def rollups() -> None:
    """The 15-minute, hourly, daily and monthly rollups reports read.

    \b
    Example:
      wattlog rollups rebuild --db sqlite:///data/wattlog.db
    """


@rollups.command(context_settings=CONTEXT)
@site_options("Take the database, site and time zone from this config.",
              "Move the site to this time zone (its rollups are rebuilt in it; default: the recorded one).")
@click.option("--meter", help="Only this meter.")
@click.option("--from", "start", metavar="WHEN", help="From this local date/time (default: the first reading).")
@click.option("--to", "end", metavar="WHEN", help="Up to this local date/time (default: the last reading).")
@click.option("--gap-seconds", type=float, default=60.0, show_default=True,
              help="Readings further apart are a gap (as the logger's; import-csv's default is 600).")
def rebuild(db_url, config_path, site, tz, meter, start, end, gap_seconds) -> None:  # type: ignore[no-untyped-def]
    """Recompute rollups from the raw readings (after a repair, or to move a site to its right
    time zone: then all of its rollups are rebuilt in the new zone).

    \b
    Examples:
      wattlog rollups rebuild --db sqlite:///data/wattlog.db --from 2026-11-01
      wattlog rollups rebuild --db sqlite:///data/wattlog.db --tz Asia/Bangkok
    """
    from ..store import StoreError

    target = resolve_target(db_url, config_path, site, tz, check=False)
    moving = bool(tz) and target.recorded != target.tz
    lo, hi = parse_when(start, target.tz, "--from"), parse_when(end, target.tz, "--to")
    if moving and (meter or lo or hi):
        fail("--meter, --from and --to cannot be used when moving a site to another time zone: "
             "all of its rollups are rebuilt", 2)
    try:
        with _store(target, gap_seconds) as store:
            store.migrate()
            if moving:
                store.move_to_zone()
            else:
                store.rebuild_rollups(meter, lo, hi)
    except StoreError as exc:
        fail(str(exc))
    what = f"meter {meter}" if meter else f"site {target.name}"
    click.echo(f"rollups of {what} rebuilt in {target.tz}"
               + (f" (the site was recorded in {target.recorded})" if moving else ""))
