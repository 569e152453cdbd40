"""What the commands share: the click context, one-line failures, the option families declared
once (site, report settings), and opening a site with wattlog's errors turned into click's."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..analytics.settings import ReportSettings, parse_days, parse_hours
from ..errors import ConfigError, ConfigProblems, ReportError

if TYPE_CHECKING:  # site.py opens stores and configs: imported when a command runs, not for --help
    from ..site import Site

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and the exit code: 2 for a usage or configuration error, 1 otherwise."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class ReportName(click.ParamType):
    """A name from reports.registry, looked up when the command runs: the registry imports every report
    (and SQLAlchemy), which `wattlog --help` should not pay for."""

    name = "report"

    def __init__(self, *extra: str) -> None:
        self.extra = extra

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ..reports.registry import REPORTS

        choices = [*REPORTS, *self.extra]
        if value not in choices:
            self.fail(f"{value!r} is not one of {', '.join(map(repr, choices))}.", param, ctx)
        return str(value)


class LazyHelpCommand(click.Command):
    """A command whose long help is built when shown (it lists the reports); its short help is given."""

    def __init__(self, *args: Any, help_factory: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_factory = help_factory

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.help = self.help_factory()
        super().format_help_text(ctx, formatter)


def _apply(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def decorate(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return f
    return decorate


def site_options(config: str = "Site config (database, site, time zone, settings).",
                 tz: str = "Site time zone, e.g. Asia/Kuala_Lumpur (default: the config's).") -> Callable[[Any], Any]:
    """--db, --config, --site, --tz: which store and site a command works on."""
    return _apply([
        click.option("--db", "db_url", metavar="URL", help="Database URL, e.g. sqlite:///data/wattlog.db."),
        click.option("--config", "config_path", metavar="FILE", help=config),
        click.option("--site", help="Site name in the database (default: from --config, else the only one)."),
        click.option("--tz", help=tz),
    ])


def settings_options() -> Callable[[Any], Any]:
    """--main-meter, --holiday, --working-hours, --working-days: report settings over the config's."""
    return _apply([
        click.option("--main-meter", metavar="METER", help="The meter measuring the whole site."),
        click.option("--holiday", "holidays", multiple=True, metavar="DATE", help="A public holiday (repeatable)."),
        click.option("--working-hours", metavar="HH:MM-HH:MM", help="e.g. 08:00-18:00."),
        click.option("--working-days", metavar="DAYS", help="e.g. mon-fri or mon-sat."),
    ])


def tariff_options(tariff: str = "The tariff to price with (default: the config's).") -> Callable[[Any], Any]:
    """--tariff and --what-if."""
    return _apply([
        click.option("--tariff", metavar="NAME|FILE", help=tariff),
        click.option("--what-if", "what_if", metavar="NAME|FILE", help="A second tariff to compare."),
        click.option("--adjust", "adjust", multiple=True, metavar="NAME:YYYY-MM=RATE",
                     help="A monthly adjustment in its unit, e.g. afa:2025-10=-6.50 (repeatable; over the shipped "
                          "and config values)."),
    ])


def parse_date(value: str, option: str) -> date:
    """2026-10-01, or 2026-10 for the first of the month."""
    try:
        d = date.fromisoformat(value + "-01" if len(value) == 7 else value)
    except ValueError:
        raise click.UsageError(f"{option} {value!r} is not a date: write e.g. 2026-10-01 (or 2026-10)") from None
    if not 1970 <= d.year <= 9000:  # 0001-01-01 overflows once made a UTC instant
        raise click.UsageError(f"{option} {value!r} is out of range: use a date from 1970 to 9000")
    return d


def report_settings(target: Site, main_meter: str | None, holidays: tuple[str, ...], working_hours: str | None,
                    working_days: str | None) -> ReportSettings:
    """The site's report settings with the command line's overrides (bad values: a one-line error)."""
    settings = target.settings
    try:
        return settings.with_(
            main_meter=main_meter,
            holidays=settings.holidays | {parse_date(h, "--holiday") for h in holidays},
            working_hours=parse_hours(working_hours) if working_hours else None,
            working_days=parse_days(working_days) if working_days else None)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def site_tariffs(target: Site, tariff: str | None, what_if: str | None, adjust: tuple[str, ...] = ()
                 ) -> tuple[Any, Any]:
    """--tariff and --what-if loaded (with the config's tariff folders), else the config's tariff timeline;
    --adjust values merged into both."""
    from ..tariffs.adjust import parse_specs, with_given
    from ..tariffs.load import load_tariff
    from ..tariffs.periods import TariffTimeline, retimed

    dirs = target.config.tariff_dirs if target.config else []
    try:
        base = load_tariff(tariff, dirs) if tariff else (target.timeline or target.tariff)
        alt = load_tariff(what_if, dirs) if what_if else target.what_if
        given = parse_specs(adjust)
        if given and base is not None:
            if isinstance(base, TariffTimeline):
                base = retimed(base, with_given(base.tariffs, given, "--adjust"))
            else:
                base = with_given([base], given, "--adjust")[0]
            alt = with_given([alt], {k: v for k, v in given.items() if any(
                a.name == k for w in alt.versions for a in w.adjustments)}, "--adjust")[0] if alt else None
        return base, alt
    except ConfigError as exc:
        fail(str(exc), 2)


def check_location(store: Any, location: str | None) -> None:
    if location is None:
        return
    known = sorted({m["location"] or m["name"] for m in store.meters()})
    if location not in known:
        raise ReportError(f"no location {location!r}", f"use one of: {', '.join(known) or '(no meters yet)'}")


def resolve_target(db: str | None, config_path: str | None, site: str | None, tz: str | None,
                   check: bool = True, new_ok: bool = False) -> Site:
    """The site from --config or --db (its zone as the database records it); a problem is one line
    per problem and exit 2. A SQLite file that does not exist is refused (a typo in a path must
    not leave an empty database behind) unless new_ok (import-csv creates one)."""
    from pathlib import Path

    from ..site import open_site
    from ..store.engine import normalise

    try:
        target = open_site(db, config_path, site, tz, check)
        u = normalise(target.url)
        if not new_ok and u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:" \
                and not Path(u.database).exists():
            fail(f"no database at {u.database} (from {'--db' if db else config_path}): check the path; "
                 "the logger (wattlog run) or wattlog import-csv creates it", 2)
        return target
    except ConfigProblems as exc:
        fail("\n       ".join(str(p) for p in exc.problems), 2)
    except ConfigError as exc:
        fail(str(exc), 2)


def parse_when(text: str | None, tz: str, option: str) -> datetime | None:
    from ..site import parse_when as parse

    try:
        return parse(text, tz, option)
    except ConfigError as exc:
        raise click.BadParameter(f"{exc.problem}; {exc.fix}", param_hint=option) from None


def day_start(d: datetime) -> datetime:
    return datetime.combine(d.date(), time(0), tzinfo=d.tzinfo)
