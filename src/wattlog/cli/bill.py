"""`wattlog bill --month 2025-08`: the utility's bill (flags or a small TOML) beside wattlog's estimate."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from ..errors import WattlogError
from .options import (
    CONTEXT,
    fail,
    parse_date,
    resolve_target,
    site_options,
    site_tariffs,
    tariff_options,
)


@click.command("bill", context_settings=CONTEXT)
@click.option("--month", required=True, metavar="YYYY-MM",
              help="The billing month: the cycle starting that month (the config's reading_day; default the 1st).")
@site_options()
@tariff_options("The tariff to price with (default: the config's timeline).")
@click.option("--kwh", type=float, help="kWh on the utility's bill.")
@click.option("--kw", type=float, help="Maximum demand kW on the bill.")
@click.option("--pf", type=float, help="Power factor on the bill.")
@click.option("--amount", help="The bill's amount (before any arrears).")
@click.option("--from-bill", "bill_file", metavar="FILE", help="The same figures as TOML: kwh = ..., amount = ...")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def bill(month: str, db_url: str | None, config_path: str | None, site: str | None, tz: str | None,
         tariff: str | None, what_if: str | None, adjust: tuple[str, ...], kwh: float | None, kw: float | None,
         pf: float | None, amount: str | None, bill_file: str | None, fmt: str) -> None:
    """Put the utility's bill beside wattlog's estimate: kWh, kW, PF and amount, the unmetered
    remainder, the difference in money and which line explains it.

    \b
    Example:
      wattlog bill --config site.toml --month 2025-08 --kwh 41250 --kw 182 --pf 0.84 --amount 21480.55
    """
    from ..reports.reconcile import BillFigures, reconcile
    from ..store import Store
    from .report import _print

    if what_if:
        raise click.UsageError("--what-if does not apply to bill (use: wattlog report cost --what-if)")
    first = parse_date(month, "--month")
    target = resolve_target(db_url, config_path, site, tz)
    base, _ = site_tariffs(target, tariff, None, adjust)
    timeline = getattr(base, "reading_day", None)
    start, end = (base.cycle_of(first.replace(day=base.reading_day)) if timeline
                  else (first, first.replace(month=first.month % 12 + 1, year=first.year + first.month // 12)))
    try:
        given = BillFigures.from_toml(bill_file) if bill_file else BillFigures()
        money = Decimal(amount) if amount is not None else given.amount
    except InvalidOperation:
        fail(f"--amount {amount!r} is not a number (fix: write e.g. --amount 21480.55)", 2)
    except WattlogError as exc:
        fail(str(exc), 2)
    given = BillFigures(kwh if kwh is not None else given.kwh, kw if kw is not None else given.kw,
                        pf if pf is not None else given.pf, money)
    try:
        with Store(target.url, site=target.name, tz=target.settings.timezone) as store:
            result = reconcile(store, start, end, target.settings, base, given)
    except WattlogError as exc:
        fail(str(exc))
    _print(result, fmt, None)
