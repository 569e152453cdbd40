"""`wattlog tariffs`: the shipped and site tariffs and monthly adjustments, with dates, sources and
confidence; `wattlog tariffs show ID` describes one tariff in words (bands, charges, rules)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..tariffs.adjust import load_series
from ..tariffs.load import list_tariffs, load_tariff
from ..tariffs.model import DAY_TYPES, Tariff, Version
from .options import CONTEXT, fail, resolve_target


def _dirs(config_path: str | None, dirs: tuple[str, ...]) -> tuple[list[Path], object]:
    target = resolve_target(None, config_path, None, None, check=False, new_ok=True) if config_path else None
    found = list(target.config.tariff_dirs) if target and target.config else []
    return found + [Path(d) for d in dirs], target


def _span(t: Tariff) -> str:
    return "; ".join(f"{v.effective_from} – {v.effective_to or 'open'}" for v in t.versions)


@click.group("tariffs", context_settings=CONTEXT, invoke_without_command=True)
@click.option("--config", "config_path", metavar="FILE", help="Site config: its tariff folders and timeline too.")
@click.option("--dir", "dirs", multiple=True, metavar="DIR", help="A folder of tariff files (repeatable).")
@click.pass_context
def tariffs(ctx: click.Context, config_path: str | None, dirs: tuple[str, ...]) -> None:
    """List the tariffs (shipped and the site's), the monthly adjustments, and the site's timeline.

    \b
    Examples:
      wattlog tariffs
      wattlog tariffs --config site.toml
      wattlog tariffs show my-tnb-mv-tou-2025
    """
    ctx.obj = (config_path, dirs)
    if ctx.invoked_subcommand:
        return
    folders, target = _dirs(config_path, dirs)
    try:
        found, series = list_tariffs(folders), load_series(folders)
    except ConfigError as exc:
        fail(str(exc), 2)
    click.echo("Tariffs (id, in force, confidence, verified, source):")
    for t in found:
        where = "shipped" if "/tariffs/data/" in t.path.replace("\\", "/") else t.path
        click.echo(f"  {t.id:<24} {_span(t):<26} {t.meta.confidence:<10} "
                   f"{'verified' if t.verified else 'not verified':<12} {where}")
        click.echo(f"  {'':<24} {t.name}; source: {t.meta.source}")
    click.echo("\nMonthly adjustments (name, months, tariffs, sources):")
    for s in series:
        months = sorted(s.values)
        confid = sorted({m.confidence for m in s.meta.values()})
        click.echo(f"  {s.name:<6} {months[0] if months else '-'} – {months[-1] if months else '-'} "
                   f"({len(months)} months, {', '.join(confid)}) for {', '.join(s.tariffs)}")
        for src in dict.fromkeys(m.source for m in s.meta.values()):
            click.echo(f"         source: {src}")
    timeline = getattr(target, "timeline", None)
    if timeline is not None:
        click.echo(f"\nThis site (billing cycles from day {timeline.reading_day} of the month):")
        for p in timeline.periods:
            start = "always" if p.start.year == 1 else f"from {p.start}"
            click.echo(f"  {start:<16} {p.tariff.id}")


@tariffs.command("show", context_settings=CONTEXT)
@click.argument("tariff_id", metavar="ID|FILE")
@click.pass_context
def show(ctx: click.Context, tariff_id: str) -> None:
    """Describe one tariff in words: versions, bands, charges, adjustments, rules, rounding."""
    config_path, dirs = ctx.obj or (None, ())
    folders, _ = _dirs(config_path, dirs)
    try:
        t = load_tariff(tariff_id, folders)
    except ConfigError as exc:
        fail(str(exc), 2)
    click.echo("\n".join(describe(t)))


def _ranges(slots: list[int]) -> str:
    out, start = [], None
    for i in range(97):
        inside = i in slots
        if inside and start is None:
            start = i
        if not inside and start is not None:
            out.append(f"{start // 4:02d}:{start % 4 * 15:02d}-{i // 4:02d}:{i % 4 * 15:02d}")
            start = None
    return ", ".join(out)


def _bands(v: Version) -> list[str]:
    lines = []
    for band in v.bands:
        per_day = {d: _ranges([i for i, b in enumerate(v.grid[d]) if b == band]) for d in DAY_TYPES}
        text = "; ".join(f"{d} {r}" for d, r in per_day.items() if r)
        lines.append(f"    band {band}: {text or 'never'}")
    return lines


def describe(t: Tariff) -> list[str]:
    """One tariff in words, version by version."""
    out = [f"{t.id}: {t.name}", f"  utility {t.utility or '-'}; currency {t.currency} ({t.major_unit}, "
           f"{t.minor_per_major} {t.minor_unit}); time zone {t.timezone}",
           f"  source: {t.meta.source} ({t.meta.confidence}; {'verified' if t.verified else 'not verified'})",
           f"  holidays: {t.holidays.name or 'none'} ({len(t.holidays.dates)} dates, "
           f"{len(t.holidays.unverified)} unverified)"]
    for v in t.versions:
        out.append(f"  version in force {v.effective_from} – {v.effective_to or 'open'}:")
        out += _bands(v)
        for c in v.charges:
            if c.rates:
                rate = ", ".join(f"{b} {r}" for b, r in c.rates.items()) + f" {c.unit}"
            elif c.tiers:
                rate = ", then ".join(f"{x.rate} up to {x.up_to:g} kWh" if x.up_to is not None else f"{x.rate}"
                                      for x in c.tiers) + f" {c.unit}"
            else:
                rate = f"{c.rate} {c.unit}"
            extra = ""
            if c.basis == "kW":
                hours = f"blocks starting in {', '.join(c.record_in)}" if c.record_in else "every hour"
                extra = f"; maximum demand over {c.window}-minute clock blocks, {hours}"
                if c.ratchet_percent is not None:
                    extra += f"; ratchet {c.ratchet_percent} % of the past {c.ratchet_months} months"
            out.append(f"    {c.kind} charge {c.name}: {rate}{extra} ({c.meta.confidence})")
        for a in v.adjustments:
            months = sorted(a.series)
            known = f"{len(months)} months known, {months[0]} – {months[-1]}" if months else "no month known"
            usual = f"; usual within ±{a.usual}" if a.usual is not None else ""
            out.append(f"    adjustment {a.name} ({a.label}) in {a.unit}: {known}{usual}; a missing month is "
                       f"{'priced at 0 with a note' if a.missing == 'zero' else 'an error'}")
        if v.minimum:
            m = v.minimum
            floor = (f"{m.percent} % of the highest demand charge of the past {m.months} months"
                     if m.percent is not None else f"{m.amount} {t.major_unit} a month")
            out.append(f"    minimum charge: {floor}, on {', '.join(m.applies_to)}")
        if v.power_factor:
            f = v.power_factor
            rule = (f"surcharge {f.percent_per_step} % per {f.step} below {f.threshold}"
                    + (f", plus {f.lower_percent_per_step} % per {f.step} below {f.lower_threshold}"
                       if f.lower_threshold is not None else "")
                    if f.method == "surcharge" else
                    f"kvar above {f.kvar_ratio * 100} % of kW at {f.rate} {f.unit}")
            out.append(f"    power factor: {rule} ({f.meta.confidence})")
        for p in (*v.levies, *v.taxes):
            out.append(f"    {p.kind} {p.label}: {p.percent} % of {', '.join(p.applies_to)}")
        r = v.rounding
        out.append(f"    rounding: each line to {r.money} {t.major_unit}, {r.mode.removeprefix('ROUND_').lower()}; "
                   f"kWh to {r.kwh_decimals} places, kW and kvar to {r.kw_decimals}")
    return out
